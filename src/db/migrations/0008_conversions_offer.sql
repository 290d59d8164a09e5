-- An offer's conversions newest first (`GET /conversions?offer_id=`, the dashboard's offer
-- filter), for the same reason as `conversions_brand_partner`: without it the list walks
-- `conversions_brand` down from the newest id past every other offer's rows.
CREATE INDEX conversions_brand_offer ON conversions(brand_id, offer_id, id);
