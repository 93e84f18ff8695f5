-- Leases that serialize work across replicas (appwheel.LockStore).
CREATE TABLE locks (
	name       TEXT PRIMARY KEY,
	owner      TEXT NOT NULL,
	expires_at INTEGER NOT NULL -- unix microseconds, UTC
) STRICT;
