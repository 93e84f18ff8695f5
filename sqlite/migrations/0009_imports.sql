-- Each app's latest import of its existing Stripe customers
-- (appwheel.ImportStore): the run, and one item per customer it found with
-- what happened to it. A new import replaces the app's previous one.
CREATE TABLE imports (
    app_id       TEXT    NOT NULL PRIMARY KEY REFERENCES apps (id),
    id           TEXT    NOT NULL,
    params_hash  TEXT    NOT NULL,
    metadata_key TEXT    NOT NULL,
    dry_run      INTEGER NOT NULL,
    background   INTEGER NOT NULL,
    listed_after TEXT    NOT NULL,
    listed       INTEGER NOT NULL,
    error        TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    finished_at  INTEGER
) STRICT;

CREATE TABLE import_items (
    app_id      TEXT    NOT NULL REFERENCES imports (app_id),
    seq         INTEGER NOT NULL,
    app_user_id TEXT    NOT NULL,
    customer_id TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    PRIMARY KEY (app_id, seq)
) STRICT;

-- The pending items, in order: what the importer works through next.
CREATE INDEX import_items_pending ON import_items (app_id, seq) WHERE outcome = '';
