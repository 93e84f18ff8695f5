-- The unprocessed webhook events are the queue of their application: an
-- applier claims a batch of them (ClaimEvents), applies it and marks it
-- processed. claimed_until is when the claim ends, NULL while the event was
-- never claimed; a claimer that dies leaves its events claimable again from
-- then on, and a failed event's claim is moved to its retry time. attempts
-- counts the claims, for the retry backoff.
ALTER TABLE webhook_events
    ADD COLUMN claimed_until timestamptz,
    ADD COLUMN attempts integer NOT NULL DEFAULT 0;

-- The claim's read: processed_at IS NULL AND coalesce(claimed_until,
-- received_at) <= now, in that order, LIMIT n, FOR UPDATE SKIP LOCKED. The
-- expression is when the event became claimable: on receipt, or when its
-- last claim ended. Partial, like the index it replaces (the sweeper's, by
-- received_at), so it holds only the unprocessed events however many are
-- processed; the claim reads it from its start and stops after n entries,
-- with no sort.
DROP INDEX webhook_events_pending;
CREATE INDEX webhook_events_claimable ON webhook_events ((coalesce(claimed_until, received_at)), app_id, id)
    WHERE processed_at IS NULL;
