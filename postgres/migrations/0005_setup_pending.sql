-- setup_pending_until marks a user who has just started adding a payment
-- method (createPaymentMethod): until then, or until the webhook saying the
-- setup finished is applied, reads fetch the user's methods from Stripe, so
-- the card added at Stripe shows the moment the user is back in the app.
ALTER TABLE customers ADD COLUMN setup_pending_until timestamptz; -- NULL = none
