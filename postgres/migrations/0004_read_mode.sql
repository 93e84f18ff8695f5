-- read_mode is where an app's reads come from: 'mirror' (the local copy fed
-- by webhooks) or 'live' (Stripe itself). Apps made before it read live.
ALTER TABLE apps ADD COLUMN read_mode text NOT NULL DEFAULT 'live';
