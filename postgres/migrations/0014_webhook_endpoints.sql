-- Apps' own servers, where AppWheel sends its events (appwheel.NotifyStore):
-- the endpoints, the events recorded for them once per fact, and each
-- delivery attempt.
CREATE TABLE webhook_endpoints (
    app_id          text COLLATE "C" NOT NULL REFERENCES apps (id),
    id              text COLLATE "C" NOT NULL, -- we_…
    url             text        NOT NULL,
    events          jsonb       NOT NULL, -- an array of event types; [] means all
    sealed_secret   bytea       NOT NULL,
    disabled        boolean     NOT NULL,
    disabled_reason text        NOT NULL,
    failing_since   timestamptz,          -- NULL while the last attempt succeeded
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (app_id, id)
);

CREATE TABLE notifications (
    app_id      text COLLATE "C" NOT NULL REFERENCES apps (id),
    id          text COLLATE "C" NOT NULL, -- evt_…
    type        text        NOT NULL,
    app_user_id text COLLATE "C" NOT NULL,
    created     bigint      NOT NULL, -- Unix seconds
    body        bytea       NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (app_id, id)
);

-- redeliver finds an event by its id alone.
CREATE INDEX notifications_id ON notifications (id);
CREATE INDEX notifications_recorded ON notifications (recorded_at);

CREATE TABLE delivery_attempts (
    app_id        text COLLATE "C" NOT NULL,
    event_id      text COLLATE "C" NOT NULL,
    endpoint_id   text COLLATE "C" NOT NULL,
    attempt       integer     NOT NULL,
    at            timestamptz NOT NULL,
    status_code   integer     NOT NULL,
    latency       bigint      NOT NULL, -- microseconds
    error         text        NOT NULL,
    outcome       text        NOT NULL,
    next_retry_at timestamptz,
    PRIMARY KEY (app_id, event_id, endpoint_id, attempt, at)
);

-- Attempts reads an app's newest first, in the index's order: no sort.
CREATE INDEX delivery_attempts_latest ON delivery_attempts
    (app_id, at DESC, event_id DESC, endpoint_id DESC, attempt DESC);
-- DeleteNotificationsBefore finds the old attempts of every app.
CREATE INDEX delivery_attempts_at ON delivery_attempts (at);
