package stripe

// MarshalPaymentMethod exposes the fallback that rebuilds a payment
// method's JSON from the stripe-go struct, to test it directly: through the
// Provider it only runs when stripe-go kept no raw JSON.
var MarshalPaymentMethod = marshalPaymentMethod
