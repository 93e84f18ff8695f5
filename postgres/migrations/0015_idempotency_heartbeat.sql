-- heartbeat_at is when an unfinished request's owner last said it is
-- still working on it (every couple of seconds), so that a key held by a
-- process that died is taken over within seconds, not minutes. NULL for
-- the records made before it: their created_at counts.
ALTER TABLE idempotency_keys ADD COLUMN heartbeat_at timestamptz;
