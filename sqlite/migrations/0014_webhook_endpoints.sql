-- Apps' own servers, where AppWheel sends its events (appwheel.NotifyStore):
-- the endpoints, the events recorded for them once per fact, and each
-- delivery attempt. Times are Unix microseconds.
CREATE TABLE webhook_endpoints (
    app_id          TEXT    NOT NULL REFERENCES apps (id),
    id              TEXT    NOT NULL, -- we_…
    url             TEXT    NOT NULL,
    events          TEXT    NOT NULL, -- a JSON array of event types; [] means all
    sealed_secret   BLOB    NOT NULL,
    disabled        INTEGER NOT NULL,
    disabled_reason TEXT    NOT NULL,
    failing_since   INTEGER,          -- NULL while the last attempt succeeded
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (app_id, id)
) STRICT;

CREATE TABLE notifications (
    app_id      TEXT    NOT NULL REFERENCES apps (id),
    id          TEXT    NOT NULL, -- evt_…
    type        TEXT    NOT NULL,
    app_user_id TEXT    NOT NULL,
    created     INTEGER NOT NULL, -- Unix seconds
    body        BLOB    NOT NULL,
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, id)
) STRICT;

-- redeliver finds an event by its id alone.
CREATE INDEX notifications_id ON notifications (id);
CREATE INDEX notifications_recorded ON notifications (recorded_at);

CREATE TABLE delivery_attempts (
    app_id        TEXT    NOT NULL,
    event_id      TEXT    NOT NULL,
    endpoint_id   TEXT    NOT NULL,
    attempt       INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    status_code   INTEGER NOT NULL,
    latency       INTEGER NOT NULL, -- microseconds
    error         TEXT    NOT NULL,
    outcome       TEXT    NOT NULL,
    next_retry_at INTEGER,
    PRIMARY KEY (app_id, event_id, endpoint_id, attempt, at)
) STRICT;

-- Attempts reads an app's newest first, in the index's order: no sort.
CREATE INDEX delivery_attempts_latest ON delivery_attempts
    (app_id, at DESC, event_id DESC, endpoint_id DESC, attempt DESC);
-- DeleteNotificationsBefore finds the old attempts of every app.
CREATE INDEX delivery_attempts_at ON delivery_attempts (at);
