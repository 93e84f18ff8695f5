-- The tables behind appwheel.Store. Times are INTEGER unix microseconds (UTC),
-- so they sort and compare as numbers and round-trip to the microsecond like
-- PostgreSQL's timestamptz. STRICT makes SQLite refuse values of the wrong type.

-- apps are the tenants. Every secret is sealed with the master key before it
-- gets here; a NULL sealed column means the secret is not set.
CREATE TABLE apps (
    id                           TEXT    NOT NULL PRIMARY KEY,
    name                         TEXT    NOT NULL,
    platform                     TEXT    NOT NULL,
    sealed_secret                BLOB    NOT NULL,
    sealed_previous_secret       BLOB,
    previous_secret_expires_at   INTEGER,            -- NULL when zero
    sealed_stripe_secret_key     BLOB    NOT NULL,
    sealed_stripe_webhook_secret BLOB,
    stripe_api_base              TEXT    NOT NULL DEFAULT '',
    redirect_hosts               TEXT    NOT NULL DEFAULT '[]', -- JSON array of hosts
    disabled                     INTEGER NOT NULL DEFAULT 0,
    created_at                   INTEGER NOT NULL,
    updated_at                   INTEGER NOT NULL
) STRICT;

-- customers maps an app's users to their Stripe customers. The primary key
-- makes the first writer win; the UNIQUE constraint keeps one Stripe customer
-- from serving two users of the same app.
CREATE TABLE customers (
    app_id             TEXT    NOT NULL REFERENCES apps (id),
    app_user_id        TEXT    NOT NULL,
    stripe_customer_id TEXT    NOT NULL,
    created_at         INTEGER NOT NULL,
    PRIMARY KEY (app_id, app_user_id),
    UNIQUE (app_id, stripe_customer_id)
) STRICT;

-- request_nonces holds the signatures of accepted requests until they expire;
-- the primary key is what refuses a replay.
CREATE TABLE request_nonces (
    app_id     TEXT    NOT NULL REFERENCES apps (id),
    nonce      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, nonce)
) STRICT;

CREATE INDEX request_nonces_expires_at ON request_nonces (expires_at);

-- idempotency_keys holds one row per Idempotency-Key: in flight while
-- finished = 0, then the response to replay.
CREATE TABLE idempotency_keys (
    app_id       TEXT    NOT NULL REFERENCES apps (id),
    key          TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    finished     INTEGER NOT NULL DEFAULT 0,
    status       INTEGER NOT NULL DEFAULT 0,
    body         BLOB,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (app_id, key)
) STRICT;

CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
