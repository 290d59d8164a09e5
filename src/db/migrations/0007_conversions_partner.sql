-- A partner's conversions newest first (the partner's page, `GET /conversions?partner_id=`):
-- without it the list walks `conversions_brand` down from the newest id and reads every other
-- partner's rows on the way (tens of milliseconds when the newest ten thousands are another's).
CREATE INDEX conversions_brand_partner ON conversions(brand_id, partner_id, id);
