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
ALTER TABLE customers ADD COLUMN reads_version INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER payment_methods_count_insert AFTER INSERT ON payment_methods BEGIN
    UPDATE customers SET reads_version = reads_version + 1
    WHERE app_id = NEW.app_id AND stripe_customer_id = NEW.customer_id;
END;
CREATE TRIGGER payment_methods_count_update AFTER UPDATE ON payment_methods BEGIN
    UPDATE customers SET reads_version = reads_version + 1
    WHERE app_id = NEW.app_id AND stripe_customer_id IN (OLD.customer_id, NEW.customer_id);
END;
CREATE TRIGGER payment_methods_count_delete AFTER DELETE ON payment_methods BEGIN
    UPDATE customers SET reads_version = reads_version + 1
    WHERE app_id = OLD.app_id AND stripe_customer_id = OLD.customer_id;
END;

CREATE TRIGGER subscriptions_count_insert AFTER INSERT ON subscriptions BEGIN
    UPDATE customers SET reads_version = reads_version + 1
    WHERE app_id = NEW.app_id AND stripe_customer_id = NEW.customer_id;
END;
CREATE TRIGGER subscriptions_count_update AFTER UPDATE ON subscriptions BEGIN
    UPDATE customers SET reads_version = reads_version + 1
    WHERE app_id = NEW.app_id AND stripe_customer_id IN (OLD.customer_id, NEW.customer_id);
END;
CREATE TRIGGER subscriptions_count_delete AFTER DELETE ON subscriptions BEGIN
    UPDATE customers SET reads_version = reads_version + 1
    WHERE app_id = OLD.app_id AND stripe_customer_id = OLD.customer_id;
END;

-- A status observed before its subscription is mirrored counts for nobody
-- yet; the subscription's own insert counts when it comes.
CREATE TRIGGER subscription_status_history_count_insert AFTER INSERT ON subscription_status_history BEGIN
    UPDATE customers SET reads_version = reads_version + 1
    WHERE app_id = NEW.app_id AND stripe_customer_id IN (
        SELECT customer_id FROM subscriptions WHERE app_id = NEW.app_id AND id = NEW.subscription_id);
END;

CREATE TRIGGER invoices_count_insert AFTER INSERT ON invoices BEGIN
    UPDATE customers SET reads_version = reads_version + 1
    WHERE app_id = NEW.app_id AND stripe_customer_id = NEW.customer_id;
END;
CREATE TRIGGER invoices_count_update AFTER UPDATE ON invoices BEGIN
    UPDATE customers SET reads_version = reads_version + 1
    WHERE app_id = NEW.app_id AND stripe_customer_id IN (OLD.customer_id, NEW.customer_id);
END;
CREATE TRIGGER invoices_count_delete AFTER DELETE ON invoices BEGIN
    UPDATE customers SET reads_version = reads_version + 1
    WHERE app_id = OLD.app_id AND stripe_customer_id = OLD.customer_id;
END;
