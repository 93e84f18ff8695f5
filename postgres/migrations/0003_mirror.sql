-- The mirror of each user's Stripe data (appwheel.MirrorStore), fed by
-- webhooks, backfills and AppWheel's own writes.
--
-- Every mirrored row carries a version: the time the snapshot describes, in
-- Unix microseconds (see appwheel.MirrorStore). A write replaces a row only
-- when its version is newer, decided by the upsert itself (ON CONFLICT … DO
-- UPDATE … WHERE excluded.version > version), so duplicated and out-of-order
-- webhooks converge. Stripe's own timestamps (created, periods, paid_at) are
-- bigint Unix seconds; versions and the history's at are bigint Unix
-- microseconds; AppWheel's times (received_at, processed_at, synced_at) are
-- timestamptz like the rest of the schema.
--
-- Every key and every index starts with app_id: a read never crosses apps,
-- and apps sharing a Stripe account keep separate rows for the same object.

-- customers gains the mirrored Stripe fields. The row is still created by
-- PutCustomer alone; the mirror only updates it (version 0 = never mirrored).
ALTER TABLE customers
    ADD COLUMN default_payment_method_id text    NOT NULL DEFAULT '',
    ADD COLUMN deleted                   boolean NOT NULL DEFAULT false,
    ADD COLUMN version                   bigint  NOT NULL DEFAULT 0,
    ADD COLUMN synced_at                 timestamptz; -- NULL = never synced, reads go to Stripe

-- Reconcile asks for an app's users synced longest ago (SyncedBefore):
-- app_id = $1 AND synced_at < $2 ORDER BY synced_at, app_user_id LIMIT n,
-- one range scan of this index. Users never synced are not in it at all: a
-- comparison on synced_at implies IS NOT NULL, so the partial index serves.
CREATE INDEX customers_synced_at ON customers (app_id, synced_at, app_user_id)
    WHERE synced_at IS NOT NULL;

-- webhook_events records each Stripe event once; the primary key is the
-- de-duplication, across replicas too. payload is Stripe's JSON byte for
-- byte (bytea, not jsonb, which would re-encode it).
CREATE TABLE webhook_events (
    app_id       text COLLATE "C" NOT NULL REFERENCES apps (id),
    id           text COLLATE "C" NOT NULL, -- evt_…
    type         text        NOT NULL,
    created      bigint      NOT NULL,      -- Unix seconds, Stripe's event.created
    payload      bytea       NOT NULL,
    received_at  timestamptz NOT NULL,
    processed_at timestamptz,               -- NULL until applied
    PRIMARY KEY (app_id, id)
);

-- The sweeper's read (PendingEvents): processed_at IS NULL AND received_at <
-- $1 ORDER BY received_at, app_id, id LIMIT n, across apps. Partial, so the
-- index holds only the few unapplied events however many are applied, and
-- its order is the sweep's order: no sort, the scan stops after n entries.
CREATE INDEX webhook_events_pending ON webhook_events (received_at, app_id, id)
    WHERE processed_at IS NULL;

-- payment_methods mirrors Stripe PaymentMethods. customer_id is '' once the
-- method is detached; raw is Stripe's JSON for it, byte for byte.
CREATE TABLE payment_methods (
    app_id      text COLLATE "C" NOT NULL REFERENCES apps (id),
    id          text COLLATE "C" NOT NULL, -- pm_…
    customer_id text COLLATE "C" NOT NULL, -- '' when detached
    type        text   NOT NULL,
    created     bigint NOT NULL,
    raw         bytea  NOT NULL,
    version     bigint NOT NULL,
    PRIMARY KEY (app_id, id)
);

-- A customer's methods newest first (PaymentMethodsOf): app_id = $1 AND
-- customer_id = $2 ORDER BY created DESC, id DESC is one range scan in index
-- order, no sort. Detached methods gather under customer_id ''.
CREATE INDEX payment_methods_by_customer
    ON payment_methods (app_id, customer_id, created DESC, id DESC);

-- subscriptions mirrors the part of Stripe Subscriptions AppWheel reads.
CREATE TABLE subscriptions (
    app_id               text COLLATE "C" NOT NULL REFERENCES apps (id),
    id                   text COLLATE "C" NOT NULL, -- sub_…
    customer_id          text COLLATE "C" NOT NULL,
    status               text    NOT NULL,
    price_id             text    NOT NULL,
    interval             text    NOT NULL,
    interval_count       bigint  NOT NULL,
    current_period_end   bigint  NOT NULL,
    cancel_at_period_end boolean NOT NULL,
    created              bigint  NOT NULL,
    version              bigint  NOT NULL,
    PRIMARY KEY (app_id, id)
);

-- A customer's subscriptions newest first (SubscriptionsOf), as for methods.
CREATE INDEX subscriptions_by_customer
    ON subscriptions (app_id, customer_id, created DESC, id DESC);

-- subscription_status_history holds every status observed for a
-- subscription and the version it was observed at. Rows are only ever added
-- (ON CONFLICT DO NOTHING, the key makes a redelivery a no-op), whatever
-- order events arrive in, so the set converges; StatusHistory reads it in at
-- order and drops repeats of the status in force, leaving the changes. The
-- key is also the index of that read: app_id = $1 AND subscription_id =
-- ANY($2) ORDER BY subscription_id, at, status.
CREATE TABLE subscription_status_history (
    app_id          text COLLATE "C" NOT NULL REFERENCES apps (id),
    subscription_id text COLLATE "C" NOT NULL,
    at              bigint NOT NULL, -- the version observed (Unix microseconds)
    status          text COLLATE "C" NOT NULL,
    PRIMARY KEY (app_id, subscription_id, at, status)
);

-- invoices mirrors the part of Stripe Invoices AppWheel reads.
CREATE TABLE invoices (
    app_id               text COLLATE "C" NOT NULL REFERENCES apps (id),
    id                   text COLLATE "C" NOT NULL, -- in_…
    customer_id          text COLLATE "C" NOT NULL,
    subscription_id      text   NOT NULL, -- '' for one-off invoices
    price_id             text   NOT NULL,
    number               text   NOT NULL,
    status               text   NOT NULL,
    customer_email       text   NOT NULL,
    invoice_pdf          text   NOT NULL,
    hosted_invoice_url   text   NOT NULL,
    amount_due           bigint NOT NULL,
    amount_paid          bigint NOT NULL,
    currency             text   NOT NULL,
    created              bigint NOT NULL,
    period_start         bigint NOT NULL,
    period_end           bigint NOT NULL,
    paid_at              bigint NOT NULL, -- 0 when unpaid
    service_period_start bigint NOT NULL, -- 0 when no subscription line
    service_period_end   bigint NOT NULL,
    version              bigint NOT NULL,
    PRIMARY KEY (app_id, id)
);

-- A page of a customer's invoices (InvoicesOf) is keyset-paginated:
-- app_id = $1 AND customer_id = $2 AND (created, id) < ($3, $4) ORDER BY
-- created DESC, id DESC LIMIT n+1. With the equalities as prefix, the row
-- comparison is a range on (created, id) in this index's order: the scan
-- seeks to the cursor and reads n+1 entries, no sort and no OFFSET, so a
-- page costs the same on page 1 and page 1000 and as the table grows. The
-- cursor itself is resolved through the primary key. EXPLAIN.md shows the
-- plans on a million invoices.
CREATE INDEX invoices_by_customer
    ON invoices (app_id, customer_id, created DESC, id DESC);
