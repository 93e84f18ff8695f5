package appwheel

import (
	"context"
	"time"
)

// An import links an app's existing Stripe customers to its users (apps
// import). The store keeps each app's latest import and one item per
// customer it found, with what happened to it, so that an import resumes
// where it stopped (a killed CLI, a redeployed server: whoever works on it
// next reads the same rows) and its progress can be read from anywhere.

// ImportRun is an app's import.
type ImportRun struct {
	AppID string
	ID    string // imp_…, a new one for each import started
	// ParamsHash identifies what the import links (the metadata key or
	// the pairs, and whether it is a dry run): an import started again
	// with the same parameters resumes this one.
	ParamsHash  string
	MetadataKey string // "" when the import links a list of pairs
	DryRun      bool
	// Background is an import the server's jobs work on, not a command.
	Background bool
	// ListedAfter is the last customer of the listing stored as an item;
	// Listed reports the listing done. An import of pairs is listed when
	// created.
	ListedAfter string
	Listed      bool
	// Error is the last failure that interrupted the import ("" after
	// progress since).
	Error      string
	CreatedAt  time.Time
	UpdatedAt  time.Time // the last progress, or failure
	FinishedAt time.Time // zero until every item has its outcome

	// Counts are computed from the items; ImportRun fills them.
	Counts ImportCounts
}

// ImportCounts counts an import's items by outcome.
type ImportCounts struct {
	Seen    int // every item
	Pending int // no outcome yet
	Linked  int // ImportLinked and ImportWouldLink
	Skipped int // ImportSkipped and ImportAlreadyLinked
	Failed  int // ImportFailed
}

// What happened to one customer of an import; "" is pending.
const (
	ImportLinked        = "linked"
	ImportWouldLink     = "would link" // a dry run's
	ImportAlreadyLinked = "already linked"
	ImportSkipped       = "skipped"
	ImportFailed        = "failed"
)

// ImportItem is one customer an import found, the user it names and, once
// decided, what happened to it and why.
type ImportItem struct {
	Seq        int // its position in the import, from 1
	AppUserID  string
	CustomerID string
	Outcome    string // "" while pending
	Reason     string
}

// ImportStore keeps imports. The caller serializes the work on one app's
// import (a lease); the store only keeps each write whole.
type ImportStore interface {
	// CreateImport stores run, with its first items, as the app's import,
	// replacing the app's previous one and all of its items.
	CreateImport(ctx context.Context, run *ImportRun, items []ImportItem) error
	// ImportRun returns the app's import with its Counts, or ENOTFOUND.
	ImportRun(ctx context.Context, appID string) (*ImportRun, error)
	// AddImportItems appends items (their Seq follow the last item's) and
	// records how far the listing got, at now, in one transaction. It
	// returns ENOTFOUND when importID is no longer the app's import.
	AddImportItems(ctx context.Context, appID, importID, listedAfter string, listed bool, items []ImportItem, now time.Time) error
	// ImportItems returns up to limit items of the app's import with Seq
	// after afterSeq, in Seq order: all of them, or with pendingOnly those
	// without an outcome.
	ImportItems(ctx context.Context, appID string, afterSeq, limit int, pendingOnly bool) ([]ImportItem, error)
	// SetImportOutcomes records the Outcome and Reason of items (found by
	// Seq) and clears the import's Error, at now. ENOTFOUND when importID
	// is no longer the app's import.
	SetImportOutcomes(ctx context.Context, appID, importID string, items []ImportItem, now time.Time) error
	// SetImportError records why the import stopped, at now. ENOTFOUND when
	// importID is no longer the app's import.
	SetImportError(ctx context.Context, appID, importID, msg string, now time.Time) error
	// FinishImport marks the import finished at now. ENOTFOUND when
	// importID is no longer the app's import.
	FinishImport(ctx context.Context, appID, importID string, now time.Time) error
}
