package billing

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/appwheel/appwheel"
)

// Importing an app's existing Stripe customers (apps import): every
// customer that names one of the app's users, by a metadata key or in a
// list of pairs, is linked to that user as LinkCustomer links one.
//
// It is resumable without a checkpoint: a rerun lists the customers again
// and leaves alone the users already linked and synced, so an import cut
// short (Ctrl-C, kill -9, a Stripe outage) finishes when run again, and one
// run twice changes nothing the second time. Nothing is ever guessed: a
// user claimed by two customers, or a customer by two users, is reported
// and left unlinked.

// ImportParams says which customers to link to which users.
type ImportParams struct {
	// MetadataKey names the customer metadata key that holds the app's user
	// id; every customer of the app's Stripe account is considered.
	MetadataKey string
	// Pairs, when MetadataKey is "", are the users and customers to link
	// (a CSV file's rows).
	Pairs []ImportPair
	// DryRun reports what would be linked and links nothing.
	DryRun bool
	// Progress, when not nil, is told the counts after each customer.
	Progress func(ImportProgress)
	// Outcome, when not nil, is told what happened to each customer
	// skipped, failed or linked.
	Outcome func(ImportOutcome)
}

// ImportPair is one user and the customer to link it to.
type ImportPair struct {
	AppUserID  string `json:"appUserId"`
	CustomerID string `json:"customerId"`
}

// ImportProgress counts an import's customers. Total is the number of
// candidates to link, known once the listing is done (0 before).
type ImportProgress struct {
	Seen    int `json:"seen"`
	Total   int `json:"total"`
	Linked  int `json:"linked"`
	Skipped int `json:"skipped"`
	Failed  int `json:"failed"`
}

// What happened to one customer.
const (
	ImportLinked        = "linked"
	ImportWouldLink     = "would link" // a dry run's
	ImportAlreadyLinked = "already linked"
	ImportSkipped       = "skipped"
	ImportFailed        = "failed"
)

// ImportOutcome is what happened to one customer, and why.
type ImportOutcome struct {
	CustomerID string `json:"customerId"`
	AppUserID  string `json:"appUserId,omitempty"`
	Outcome    string `json:"outcome"`
	Reason     string `json:"reason,omitempty"`
}

// importRetries bounds the attempts at one user while Stripe is
// unavailable or rate limiting, with a doubling wait from importBackoff.
const (
	importRetries = 6
	importBackoff = time.Second
)

// Import links the app's existing Stripe customers to its users, within
// the app's background budget of Stripe calls (the reconcile job's), so it
// never eats the rate limit the app's own API calls need.
//
// Returns EINVALID for bad parameters; a Stripe failure while listing
// stops the import (rerun it); one user's failure is reported and the
// import goes on.
func (s *Service) Import(ctx context.Context, app *appwheel.App, p ImportParams) (ImportProgress, error) {
	var prog ImportProgress
	report := func(o ImportOutcome) {
		switch o.Outcome {
		case ImportLinked, ImportWouldLink:
			prog.Linked++
		case ImportFailed:
			prog.Failed++
		default:
			prog.Skipped++
		}
		if p.Outcome != nil {
			p.Outcome(o)
		}
		if p.Progress != nil {
			p.Progress(prog)
		}
	}
	pairs := p.Pairs
	if p.MetadataKey != "" {
		var err error
		if pairs, err = s.claims(ctx, app, p.MetadataKey, &prog, report); err != nil {
			return prog, err
		}
	} else {
		prog.Seen = len(pairs)
	}
	pairs = unambiguous(pairs, report)
	prog.Total = len(pairs)
	if p.Progress != nil {
		p.Progress(prog)
	}
	for _, pair := range pairs {
		if err := ctx.Err(); err != nil {
			return prog, err
		}
		report(s.importOne(ctx, app, pair, p.DryRun))
	}
	return prog, nil
}

// claims lists every customer of the app's account and returns those whose
// metadata names a user under key.
func (s *Service) claims(ctx context.Context, app *appwheel.App, key string, prog *ImportProgress, report func(ImportOutcome)) ([]ImportPair, error) {
	var pairs []ImportPair
	for after := ""; ; {
		if err := s.budget(ctx, app.ID, 1); err != nil {
			return nil, err
		}
		page, err := s.stripe.ListCustomers(ctx, app.Stripe, after)
		if err != nil {
			return nil, err
		}
		for _, c := range page.Customers {
			prog.Seen++
			user := c.Metadata[key]
			if user == "" {
				report(ImportOutcome{CustomerID: c.ID, Outcome: ImportSkipped, Reason: fmt.Sprintf("no %q in its metadata", key)})
				continue
			}
			pairs = append(pairs, ImportPair{AppUserID: user, CustomerID: c.ID})
		}
		if !page.HasMore || len(page.Customers) == 0 {
			return pairs, nil
		}
		after = page.Customers[len(page.Customers)-1].ID
	}
}

// unambiguous returns the pairs whose user and customer no other pair
// claims, reporting the others as skipped, and drops repeated pairs.
func unambiguous(pairs []ImportPair, report func(ImportOutcome)) []ImportPair {
	byUser, byCustomer := map[string][]string{}, map[string][]string{}
	for _, p := range pairs {
		if !slices.Contains(byUser[p.AppUserID], p.CustomerID) {
			byUser[p.AppUserID] = append(byUser[p.AppUserID], p.CustomerID)
		}
		if !slices.Contains(byCustomer[p.CustomerID], p.AppUserID) {
			byCustomer[p.CustomerID] = append(byCustomer[p.CustomerID], p.AppUserID)
		}
	}
	var out []ImportPair
	seen := map[ImportPair]bool{}
	for _, p := range pairs {
		if seen[p] {
			continue
		}
		seen[p] = true
		switch {
		case len(byUser[p.AppUserID]) > 1:
			report(ImportOutcome{CustomerID: p.CustomerID, AppUserID: p.AppUserID, Outcome: ImportSkipped,
				Reason: fmt.Sprintf("duplicate: user %s is claimed by customers %s", p.AppUserID, strings.Join(byUser[p.AppUserID], ", "))})
		case len(byCustomer[p.CustomerID]) > 1:
			report(ImportOutcome{CustomerID: p.CustomerID, AppUserID: p.AppUserID, Outcome: ImportSkipped,
				Reason: fmt.Sprintf("duplicate: customer %s is claimed by users %s", p.CustomerID, strings.Join(byCustomer[p.CustomerID], ", "))})
		default:
			out = append(out, p)
		}
	}
	return out
}

// importOne links one user, unless it is linked and synced already, and
// waits out Stripe's unavailability and rate limits rather than failing.
func (s *Service) importOne(ctx context.Context, app *appwheel.App, p ImportPair, dryRun bool) ImportOutcome {
	out := ImportOutcome{CustomerID: p.CustomerID, AppUserID: p.AppUserID}
	if st, err := s.store.CustomerState(ctx, app.ID, p.AppUserID); err == nil && st.CustomerID == p.CustomerID &&
		(!mirrored(app) || !st.SyncedAt.IsZero()) {
		out.Outcome = ImportAlreadyLinked
		return out
	}
	if dryRun {
		if err := s.checkLink(ctx, app, p); err != nil {
			out.Outcome, out.Reason = ImportSkipped, appwheel.ErrorMessage(err)
			return out
		}
		out.Outcome = ImportWouldLink
		return out
	}
	wait := importBackoff
	for attempt := 1; ; attempt++ {
		// LinkCustomer's own two calls; the backfill budgets its own.
		err := s.budget(ctx, app.ID, 2)
		if err == nil {
			_, err = s.LinkCustomer(ctx, app, LinkCustomerParams{AppUserID: p.AppUserID, CustomerID: p.CustomerID})
		}
		switch code := appwheel.ErrorCode(err); {
		case err == nil:
			out.Outcome = ImportLinked
			return out
		case code == appwheel.ESTRIPEUNAVAILABLE && attempt < importRetries:
			select {
			case <-ctx.Done():
				out.Outcome, out.Reason = ImportFailed, ctx.Err().Error()
				return out
			case <-time.After(wait):
			}
			wait *= 2
		case code == appwheel.ECONFLICT || code == appwheel.ENOTFOUND || code == appwheel.EINVALID:
			out.Outcome, out.Reason = ImportSkipped, appwheel.ErrorMessage(err)
			return out
		default:
			out.Outcome, out.Reason = ImportFailed, appwheel.ErrorMessage(err)
			return out
		}
	}
}
