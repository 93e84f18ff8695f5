-- deleted marks an invoice deleted at Stripe (invoice.deleted, which only
-- ever happens to a draft). The row stays as a tombstone under the version
-- guard: a snapshot older than the deletion, delivered late, finds it and
-- writes nothing, and no snapshot brings it back, as Stripe never does.
-- Reads skip it.
ALTER TABLE invoices ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;

-- The list index leaves the tombstones out, so a page is still one search
-- of it that reads only the rows it returns: InvoicesOf says deleted = 0,
-- which the index's WHERE matches.
DROP INDEX invoices_by_customer;
CREATE INDEX invoices_by_customer
    ON invoices (app_id, customer_id, created DESC, id DESC)
    WHERE deleted = 0;
