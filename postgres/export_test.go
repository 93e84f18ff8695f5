package postgres

// The statements behind InvoicesOf and PaymentMethodsOf, for the EXPLAIN
// check in package postgres_test, so that it plans the very text the store
// runs. Test-only: this file is compiled into the package's tests alone.
var (
	InvoiceCursorQuery     = invoiceCursorQuery
	InvoicesFirstPageQuery = invoicesFirstPageQuery
	InvoicesNextPageQuery  = invoicesNextPageQuery
	PaymentMethodsOfQuery  = paymentMethodsOfQuery
)
