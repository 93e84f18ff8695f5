-- The tables behind appwheel.Store: the SQLite store's schema
-- (sqlite/migrations, same file names and numbering) in PostgreSQL's types.
-- Times are timestamptz, which keeps microseconds like the SQLite store's
-- unix-microsecond integers; flags are boolean; secrets and Stripe's bytes
-- are bytea. Identifiers are COLLATE "C": they compare and sort byte by byte,
-- as in SQLite, whatever the database's default locale, so list order is
-- the same on both stores. Nothing is schema-qualified: the tables live in
-- the connection's search_path.

-- apps are the tenants. Every secret is sealed with the master key before it
-- gets here; a NULL sealed column means the secret is not set.
CREATE TABLE apps (
    id                           text COLLATE "C" NOT NULL PRIMARY KEY,
    name                         text        NOT NULL,
    platform                     text        NOT NULL,
    sealed_secret                bytea       NOT NULL,
    sealed_previous_secret       bytea,
    previous_secret_expires_at   timestamptz,               -- NULL when zero
    sealed_stripe_secret_key     bytea       NOT NULL,
    sealed_stripe_webhook_secret bytea,
    stripe_api_base              text        NOT NULL DEFAULT '',
    redirect_hosts               text[]      NOT NULL DEFAULT '{}',
    disabled                     boolean     NOT NULL DEFAULT false,
    created_at                   timestamptz NOT NULL,
    updated_at                   timestamptz NOT NULL
);

-- customers maps an app's users to their Stripe customers. The primary key
-- makes the first writer win; the UNIQUE constraint keeps one Stripe customer
-- from serving two users of the same app.
CREATE TABLE customers (
    app_id             text COLLATE "C" NOT NULL REFERENCES apps (id),
    app_user_id        text COLLATE "C" NOT NULL,
    stripe_customer_id text COLLATE "C" NOT NULL,
    created_at         timestamptz NOT NULL,
    PRIMARY KEY (app_id, app_user_id),
    UNIQUE (app_id, stripe_customer_id)
);

-- request_nonces holds the signatures of accepted requests until they expire;
-- the primary key is what refuses a replay.
CREATE TABLE request_nonces (
    app_id     text COLLATE "C" NOT NULL REFERENCES apps (id),
    nonce      text COLLATE "C" NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (app_id, nonce)
);

CREATE INDEX request_nonces_expires_at ON request_nonces (expires_at);

-- idempotency_keys holds one row per Idempotency-Key: in flight while
-- finished is false, then the response to replay.
CREATE TABLE idempotency_keys (
    app_id       text COLLATE "C" NOT NULL REFERENCES apps (id),
    key          text COLLATE "C" NOT NULL,
    request_hash text        NOT NULL,
    finished     boolean     NOT NULL DEFAULT false,
    status       integer     NOT NULL DEFAULT 0,
    body         bytea,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (app_id, key)
);

CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
