-- What a statement reads (`store::statements`, PAYABLE and CLAWBACKS): a partner's approved
-- conversions on no statement, and its reversed ones that a statement paid. Without these the
-- planner took `conversions_brand_time (brand_id=? AND occurred_at<?)` for the payable rows,
-- walking every conversion of the brand up to `through`, three times per statement (0.9 s
-- each over 757 thousand conversions); and the clawbacks walked all of the partner's
-- conversions. Partial: only what is still to pay (or to claw back) is in them, so a statement
-- reads its own rows whatever the partner's history.
CREATE INDEX conversions_payable ON conversions(brand_id, partner_id, occurred_at)
    WHERE status = 'approved' AND statement_id IS NULL;
CREATE INDEX conversions_clawable ON conversions(brand_id, partner_id)
    WHERE status = 'reversed' AND statement_id IS NOT NULL;
