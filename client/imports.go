package client

import "context"

// CustomerImportParams is startCustomerImport's input: exactly one of
// MetadataKey and Pairs, the customers of the app's Stripe account to link
// to the app's users.
type CustomerImportParams struct {
	// MetadataKey names the customer metadata key that holds the app's
	// user id: every customer of the app's Stripe account with a user id
	// under it is linked to that user.
	MetadataKey string `json:"metadataKey,omitempty"`
	// Pairs, instead of MetadataKey, are the users and the customers to
	// link them to.
	Pairs []CustomerImportPair `json:"pairs,omitempty"`
	// DryRun reports what would be linked and links nothing.
	DryRun bool `json:"dryRun,omitempty"`
	// IdempotencyKey, when set, makes a retry return the first result.
	IdempotencyKey string `json:"-"`
}

// CustomerImportPair is one user and the existing Stripe customer to link
// it to.
type CustomerImportPair struct {
	AppUserID  string `json:"appUserId"`
	CustomerID string `json:"customerId"` // cus_…
}

// An import's states (CustomerImport.State).
const (
	ImportListing  = "listing"  // listing the app's Stripe customers (MetadataKey only)
	ImportLinking  = "linking"  // linking the users found
	ImportFinished = "finished" // every customer has its outcome
)

// CustomerImport is an import's status: startCustomerImport's and
// customerImportStatus's result. Times are strings of Unix seconds, "0"
// when none.
type CustomerImport struct {
	ImportID    string `json:"importId"` // imp_…, the same when an import is resumed
	State       string `json:"state"`    // ImportListing, ImportLinking or ImportFinished
	MetadataKey string `json:"metadataKey"`
	DryRun      bool   `json:"dryRun"`
	// Background is an import the server's jobs work on: every one
	// StartCustomerImport starts.
	Background bool `json:"background"`
	Seen       int  `json:"seen"`    // customers considered so far
	Pending    int  `json:"pending"` // of those, without an outcome yet
	Linked     int  `json:"linked"`  // or, in a dry run, would be
	// Skipped are left unlinked: duplicate claims, customers without the
	// key, pairs that cannot be linked, users linked already.
	Skipped int `json:"skipped"`
	Failed  int `json:"failed"`
	// Error is the failure that stopped the import last, while it has made
	// no progress since.
	Error      string `json:"error"`
	CreatedAt  string `json:"createdAt"`
	UpdatedAt  string `json:"updatedAt"`
	FinishedAt string `json:"finishedAt"` // "0" until it is finished
}

// StartCustomerImport starts linking the app's existing Stripe customers
// to its users, each as LinkCustomer links one, in the server's background
// jobs, and returns the import's status; follow it with
// CustomerImportStatus. Starting the same import again while it is
// unfinished resumes it (the same ImportID); other parameters replace an
// unfinished import, unless it is being worked on at that moment
// (IsConflict). Nothing is guessed: a user claimed by two customers, or a
// customer by two users, is skipped and reported. Both or neither of
// MetadataKey and Pairs is IsInvalid.
func (c *Client) StartCustomerImport(ctx context.Context, p CustomerImportParams) (*CustomerImport, error) {
	var out CustomerImport
	if err := c.do(ctx, "POST", "/v1/stripe/customer-imports", p, p.IdempotencyKey, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CustomerImportStatus returns the status of the app's latest import,
// finished or not; IsNotFound when the app has never started one.
func (c *Client) CustomerImportStatus(ctx context.Context) (*CustomerImport, error) {
	var out CustomerImport
	if err := c.do(ctx, "GET", "/v1/stripe/customer-imports/latest", nil, "", &out); err != nil {
		return nil, err
	}
	return &out, nil
}
