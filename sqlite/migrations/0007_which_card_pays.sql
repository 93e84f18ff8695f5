-- default_setup_intent_id is the SetupIntent a user started with makeDefault
-- (createPaymentMethod): once it succeeds, the card it set up becomes the
-- customer's default. It is kept here, not in memory, because the success
-- arrives later, by webhook or read, on any replica; clearing it names the
-- intent, so an older intent finishing late cannot clear a newer one.
-- '' = none.
ALTER TABLE customers ADD COLUMN default_setup_intent_id TEXT NOT NULL DEFAULT '';
-- A subscription's own default_payment_method, which Stripe charges before
-- the customer's default: mirrored so that a read can tell which card pays
-- each subscription without a Stripe call. '' = none, as Stripe's null.
ALTER TABLE subscriptions ADD COLUMN default_payment_method_id TEXT NOT NULL DEFAULT '';
-- setup_pending_intent_id is the SetupIntent of the user's latest setup
-- (setup_pending_until's): the webhook of an earlier setup, arriving late,
-- must not end the window a newer one opened. '' = none.
ALTER TABLE customers ADD COLUMN setup_pending_intent_id TEXT NOT NULL DEFAULT '';
