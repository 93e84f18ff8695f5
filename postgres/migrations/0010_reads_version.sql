-- reads_version counts the changes to what a user's reads show: the
-- triggers below add one, in the transaction of the change itself, whenever
-- a row of the user's payment methods, subscriptions, subscription status
-- history or invoices is written (for a row that moves between customers,
-- to both). A process that rendered a user's page at one version may serve
-- it again while the version is unchanged (billing's page cache): the
-- version lives in the database, so a change made on any replica is seen by
-- every other at its next read. The customer row's own columns are not
-- counted: a read takes them from the row it takes the version from.
-- A write that changes nothing (a stale snapshot, a redelivered status)
-- updates no row, fires no trigger and leaves the version alone.
--
-- The count takes the customer row's lock after the changed row's: every
-- writer locks in that order (a customer's own updates take only its row),
-- so the triggers add no deadlock.
ALTER TABLE customers ADD COLUMN reads_version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION count_reads_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE customers SET reads_version = reads_version + 1
        WHERE app_id = OLD.app_id AND stripe_customer_id = OLD.customer_id;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.customer_id IS DISTINCT FROM OLD.customer_id) THEN
        UPDATE customers SET reads_version = reads_version + 1
        WHERE app_id = NEW.app_id AND stripe_customer_id = NEW.customer_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER payment_methods_count AFTER INSERT OR UPDATE OR DELETE ON payment_methods
    FOR EACH ROW EXECUTE FUNCTION count_reads_change();
CREATE TRIGGER subscriptions_count AFTER INSERT OR UPDATE OR DELETE ON subscriptions
    FOR EACH ROW EXECUTE FUNCTION count_reads_change();
CREATE TRIGGER invoices_count AFTER INSERT OR UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION count_reads_change();

-- A status observed before its subscription is mirrored counts for nobody
-- yet; the subscription's own insert counts when it comes.
CREATE FUNCTION count_status_observed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE customers SET reads_version = reads_version + 1
    WHERE app_id = NEW.app_id AND stripe_customer_id IN (
        SELECT customer_id FROM subscriptions WHERE app_id = NEW.app_id AND id = NEW.subscription_id);
    RETURN NULL;
END $$;

CREATE TRIGGER subscription_status_history_count AFTER INSERT ON subscription_status_history
    FOR EACH ROW EXECUTE FUNCTION count_status_observed();
