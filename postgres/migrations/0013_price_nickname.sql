-- The name for people of a subscription's price, which the hosted billing
-- page shows.
ALTER TABLE subscriptions ADD COLUMN price_nickname text NOT NULL DEFAULT '';
