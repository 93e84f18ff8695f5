package sqlite

// The statements behind the mirror's list reads, for the query plan check
// in package sqlite_test, so that it plans the very text the store runs.
// Test-only: this file is compiled into the package's tests alone.
var (
	InvoicesFirstPageQuery = invoicesFirstPageQuery
	InvoicesNextPageQuery  = invoicesNextPageQuery
	PaymentMethodsOfQuery  = paymentMethodsOfQuery
	SubscriptionsOfQuery   = subscriptionsOfQuery
	ClaimableQuery         = claimableQuery
	SyncedBeforeQuery      = syncedBeforeQuery
)
