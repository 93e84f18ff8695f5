-- Each app's latest import of its existing Stripe customers
-- (appwheel.ImportStore): the run, and one item per customer it found with
-- what happened to it. A new import replaces the app's previous one.
CREATE TABLE imports (
    app_id       text COLLATE "C" NOT NULL PRIMARY KEY REFERENCES apps (id),
    id           text COLLATE "C" NOT NULL, -- imp_…
    params_hash  text        NOT NULL,
    metadata_key text        NOT NULL,
    dry_run      boolean     NOT NULL,
    background   boolean     NOT NULL,
    listed_after text COLLATE "C" NOT NULL, -- the last customer listed, cus_…
    listed       boolean     NOT NULL,
    error        text        NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    finished_at  timestamptz               -- NULL until finished
);

CREATE TABLE import_items (
    app_id      text COLLATE "C" NOT NULL REFERENCES imports (app_id),
    seq         integer NOT NULL,
    app_user_id text COLLATE "C" NOT NULL,
    customer_id text COLLATE "C" NOT NULL,
    outcome     text    NOT NULL, -- '' while pending
    reason      text    NOT NULL,
    PRIMARY KEY (app_id, seq)
);

-- The pending items, in order: what the importer works through next.
CREATE INDEX import_items_pending ON import_items (app_id, seq) WHERE outcome = '';
