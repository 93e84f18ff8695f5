-- Leases that serialize work across replicas (appwheel.LockStore).
CREATE TABLE locks (
    name       text COLLATE "C" NOT NULL PRIMARY KEY,
    owner      text COLLATE "C" NOT NULL,
    expires_at timestamptz NOT NULL
);
