-- kept_pages holds rendered first pages of a user's reads (billing's
-- rendered pages, appwheel.MirrorStore.KeepPage), kept in the database so
-- that every replica serves them while they are current, not only the
-- process that rendered them. Whether a page is current is decided in
-- billing/pages.go, against the customer row: its reads_version, its
-- default payment method, and the page's expiry (Unix seconds). No trigger
-- clears a page: it is current only while its version equals the
-- customer's, so a change to the user's data needs no invalidation here.
-- version is the customer's reads_version the page was rendered at; the
-- upsert keeps the page of the newest.
CREATE TABLE kept_pages (
    app_id      TEXT    NOT NULL REFERENCES apps (id),
    customer_id TEXT    NOT NULL, -- cus_…
    kind        TEXT    NOT NULL, -- which read, e.g. invoices
    version     INTEGER NOT NULL,
    default_id  TEXT    NOT NULL, -- the default payment method then
    expires     INTEGER NOT NULL, -- Unix seconds
    body        BLOB    NOT NULL, -- the answer's JSON as sent
    PRIMARY KEY (app_id, customer_id, kind)
) STRICT;
