package storetest

import "testing"

// testMirror runs the mirror's tests, a file per table.
func testMirror(t *testing.T, newStore NewStoreFunc) {
	t.Run("Event", func(t *testing.T) { testMirrorEvents(t, newStore) })
	t.Run("Customer", func(t *testing.T) { testMirrorCustomers(t, newStore) })
	t.Run("PaymentMethod", func(t *testing.T) { testMirrorPaymentMethods(t, newStore) })
	t.Run("Subscription", func(t *testing.T) { testMirrorSubscriptions(t, newStore) })
	t.Run("Invoice", func(t *testing.T) { testMirrorInvoices(t, newStore) })
	t.Run("ReadsVersion", func(t *testing.T) { testMirrorReadsVersion(t, newStore) })
	t.Run("KeptPage", func(t *testing.T) { testKeptPages(t, newStore) })
}
