-- deleted marks an invoice deleted at Stripe (invoice.deleted, which only
-- ever happens to a draft). The row stays as a tombstone under the version
-- guard: a snapshot older than the deletion, delivered late, finds it and
-- writes nothing, and no snapshot brings it back, as Stripe never does.
-- Reads skip it. (A column with a constant default: no table rewrite.)
ALTER TABLE invoices ADD COLUMN deleted boolean NOT NULL DEFAULT false;

-- The list index leaves the tombstones out, so a page is still one index
-- scan that reads only the rows it returns, with no Filter: InvoicesOf says
-- NOT deleted, which implies the index's predicate. The new index is built
-- before the old one is dropped, so reads keep the old one meanwhile (the
-- build blocks writes to invoices, not reads); the DROP's exclusive lock
-- then lasts only until the migration commits.
CREATE INDEX invoices_by_customer_live
    ON invoices (app_id, customer_id, created DESC, id DESC)
    WHERE NOT deleted;
DROP INDEX invoices_by_customer;
ALTER INDEX invoices_by_customer_live RENAME TO invoices_by_customer;
