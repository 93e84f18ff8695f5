-- The recurring terms of an invoice's price, kept with the invoice so that a
-- mirrored read of invoices billed at an old price needs no Stripe call.
ALTER TABLE invoices
    ADD COLUMN price_interval       text   NOT NULL DEFAULT '',
    ADD COLUMN price_interval_count bigint NOT NULL DEFAULT 0;
