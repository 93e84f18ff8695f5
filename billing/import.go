package billing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/appwheel/appwheel"
)

// Importing an app's existing Stripe customers (apps import): every
// customer that names one of the app's users, by a metadata key or in a
// list of pairs, is linked to that user as LinkCustomer links one.
//
// The import lives in the store (appwheel.ImportStore): the run, and one
// item per customer found with what happened to it. Whoever works on it (a
// command in the foreground, or the server's import job) holds the app's
// import lease, lists the customers page by page from where the listing
// got, then links the pending items in order, writing each outcome as it is
// decided. So an import cut short (Ctrl-C, kill -9, a deploy, a Stripe
// outage) goes on from its last written step when it is worked on again,
// and a user linked just before a crash, whose outcome was not written, is
// found linked already. Nothing is ever guessed: a user claimed by two
// customers, or a customer by two users, is reported and left unlinked.

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
	// Background leaves the work to the server's import job
	// (Config.EnqueueImport) instead of the caller.
	Background bool
}

// ImportPair is one user and the customer to link it to.
type ImportPair struct {
	AppUserID  string `json:"appUserId"`
	CustomerID string `json:"customerId"`
}

// ImportStatus is an import's state and counts, as the API and the CLI
// show it. Times are strings of Unix seconds, "0" when none.
type ImportStatus struct {
	ImportID    string `json:"importId"`
	State       string `json:"state"` // ImportListing, ImportLinking or ImportFinished
	MetadataKey string `json:"metadataKey"`
	DryRun      bool   `json:"dryRun"`
	Background  bool   `json:"background"`
	Seen        int    `json:"seen"`
	Pending     int    `json:"pending"`
	Linked      int    `json:"linked"` // or, in a dry run, would be
	Skipped     int    `json:"skipped"`
	Failed      int    `json:"failed"`
	Error       string `json:"error"` // the failure that stopped it last, if no progress since
	CreatedAt   string `json:"createdAt"`
	UpdatedAt   string `json:"updatedAt"`
	FinishedAt  string `json:"finishedAt"`
}

// An import's states.
const (
	ImportListing  = "listing"  // listing the app's Stripe customers
	ImportLinking  = "linking"  // linking the users found
	ImportFinished = "finished" // every customer has its outcome
)

const (
	// importLease bounds how long a worker that died holds up its import;
	// a live one renews it every importRenew.
	importLease = 15 * time.Second
	importRenew = 5 * time.Second
	// importSlice is how long one attempt of the import job works before
	// it lets the job run again: well within the job timeout, so an
	// attempt never outlives it, and a killed server's import is rescued
	// and goes on (see jobs.Config.JobTimeout).
	importSlice = 30 * time.Second
	// importRetries bounds the attempts at one user while Stripe is
	// unavailable or rate limiting, with a doubling wait from importBackoff.
	importRetries = 6
	importBackoff = time.Second
	// maxImportPairs bounds a list of pairs given at once.
	maxImportPairs = 1_000_000
	importPage     = 500 // pending items read at a time
)

// errImportBusy is another worker holding the app's import lease.
var errImportBusy = appwheel.Errorf(appwheel.ECONFLICT, "another process is working on this app's import")

// StartImport begins an import of the app's existing customers, or, when
// the app's latest import is unfinished and has the same parameters,
// resumes that one. Another import unfinished is replaced, unless it is
// being worked on right now (ECONFLICT). With p.Background the import is
// handed to the server's import job; otherwise the caller runs it
// (RunImport).
//
// Returns EINVALID for bad parameters, ECONFLICT as said.
func (s *Service) StartImport(ctx context.Context, app *appwheel.App, p ImportParams) (*ImportStatus, error) {
	hash, err := importHash(p)
	if err != nil {
		return nil, err
	}
	if p.Background && s.enqueueImport == nil {
		return nil, appwheel.Errorf(appwheel.EINVALID, "background imports need the server's jobs")
	}
	resumable := func(run *appwheel.ImportRun) bool {
		return run != nil && run.FinishedAt.IsZero() && run.ParamsHash == hash
	}
	// Resuming writes nothing: whoever works on it takes the lease then.
	run, err := s.store.ImportRun(ctx, app.ID)
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	if !resumable(run) {
		err = s.withImportLease(ctx, app.ID, func(ctx context.Context) error {
			var err error
			if run, err = s.store.ImportRun(ctx, app.ID); err != nil && !isNotFound(err) {
				return err
			}
			if resumable(run) {
				return nil // started by another meanwhile
			}
			now := s.now()
			run = &appwheel.ImportRun{
				AppID: app.ID, ID: newImportID(), ParamsHash: hash, MetadataKey: p.MetadataKey,
				DryRun: p.DryRun, Background: p.Background, Listed: p.MetadataKey == "",
				CreatedAt: now, UpdatedAt: now,
			}
			items := make([]appwheel.ImportItem, len(p.Pairs))
			for i, pair := range p.Pairs {
				items[i] = appwheel.ImportItem{Seq: i + 1, AppUserID: pair.AppUserID, CustomerID: pair.CustomerID}
			}
			return s.store.CreateImport(ctx, run, items)
		})
	}
	if errors.Is(err, errImportBusy) {
		return nil, appwheel.Errorf(appwheel.ECONFLICT, "another import of app %s is being worked on; follow it with apps import-status --wait", app.ID)
	}
	if err != nil {
		return nil, err
	}
	if p.Background {
		if err := s.enqueueImport(ctx, app.ID, run.ID); err != nil {
			return nil, err
		}
	}
	return s.ImportStatus(ctx, app)
}

// importHash validates p and returns what identifies its parameters.
func importHash(p ImportParams) (string, error) {
	switch {
	case (p.MetadataKey == "") == (len(p.Pairs) == 0):
		return "", appwheel.Errorf(appwheel.EINVALID, "give either metadataKey or pairs")
	case len(p.MetadataKey) > 40: // Stripe's limit for a metadata key
		return "", appwheel.Errorf(appwheel.EINVALID, "metadataKey is longer than 40 characters")
	case len(p.Pairs) > maxImportPairs:
		return "", appwheel.Errorf(appwheel.EINVALID, "more than %d pairs", maxImportPairs)
	}
	parts := []string{"import", p.MetadataKey, strconv.FormatBool(p.DryRun)}
	for _, pair := range p.Pairs {
		parts = append(parts, pair.AppUserID, pair.CustomerID)
	}
	return derivedKey(parts...), nil
}

func newImportID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "imp_" + hex.EncodeToString(b)
}

// ImportStatus returns the app's latest import, or ENOTFOUND.
func (s *Service) ImportStatus(ctx context.Context, app *appwheel.App) (*ImportStatus, error) {
	run, err := s.store.ImportRun(ctx, app.ID)
	if err != nil {
		return nil, err
	}
	return statusOf(run), nil
}

func statusOf(run *appwheel.ImportRun) *ImportStatus {
	st := &ImportStatus{
		ImportID: run.ID, MetadataKey: run.MetadataKey, DryRun: run.DryRun, Background: run.Background,
		Seen: run.Counts.Seen, Pending: run.Counts.Pending, Linked: run.Counts.Linked,
		Skipped: run.Counts.Skipped, Failed: run.Counts.Failed, Error: run.Error,
		CreatedAt: unixString(run.CreatedAt), UpdatedAt: unixString(run.UpdatedAt), FinishedAt: unixString(run.FinishedAt),
	}
	switch {
	case !run.FinishedAt.IsZero():
		st.State = ImportFinished
	case run.Listed:
		st.State = ImportLinking
	default:
		st.State = ImportListing
	}
	return st
}

func unixString(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.Unix(), 10)
}

// ImportProblems returns the items of the app's latest import that were
// skipped or failed, with their reasons, in order.
func (s *Service) ImportProblems(ctx context.Context, app *appwheel.App) ([]appwheel.ImportItem, error) {
	var out []appwheel.ImportItem
	for after := 0; ; {
		items, err := s.store.ImportItems(ctx, app.ID, after, importPage, false)
		if err != nil || len(items) == 0 {
			return out, err
		}
		for _, it := range items {
			if it.Outcome == appwheel.ImportSkipped || it.Outcome == appwheel.ImportFailed {
				out = append(out, it)
			}
		}
		after = items[len(items)-1].Seq
	}
}

// RunImport works on the app's import importID until it is finished,
// telling progress its status after each step.
// While another process works on it (the server's job, or a command
// interrupted moments ago whose lease has yet to expire), it waits and
// reports that process's progress. Cancelling ctx stops it; running it
// again goes on.
func (s *Service) RunImport(ctx context.Context, app *appwheel.App, importID string, progress func(*ImportStatus)) (*ImportStatus, error) {
	for {
		done, err := s.workImport(ctx, app, importID, time.Time{}, progress)
		if err != nil && !errors.Is(err, errImportBusy) {
			return nil, err
		}
		st, err := s.ImportStatus(ctx, app)
		if err == nil && st.ImportID != importID {
			return nil, appwheel.Errorf(appwheel.ECONFLICT, "import %s was replaced by import %s", importID, st.ImportID)
		}
		if done || err != nil {
			return st, err
		}
		if progress != nil {
			progress(st)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// ContinueImport works on the app's import importID for a while (an
// import job's attempt) and reports whether it is done. It is done too when
// the import is no longer the app's (replaced) or the app is gone.
func (s *Service) ContinueImport(ctx context.Context, appID, importID string) (bool, error) {
	app, err := s.apps.App(ctx, appID)
	if isNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	until := time.Now().Add(importSlice)
	if d, ok := ctx.Deadline(); ok && time.Until(d)/2 < importSlice {
		until = time.Now().Add(time.Until(d) / 2)
	}
	done, err := s.workImport(ctx, app, importID, until, nil)
	if errors.Is(err, errImportBusy) {
		return false, nil
	}
	return done, err
}

// workImport holds the app's import lease and works on importID until it
// is finished or, when until is not zero, until then. It returns
// errImportBusy when another holds the lease.
func (s *Service) workImport(ctx context.Context, app *appwheel.App, importID string, until time.Time, progress func(*ImportStatus)) (done bool, err error) {
	err = s.withImportLease(ctx, app.ID, func(ctx context.Context) error {
		run, err := s.store.ImportRun(ctx, app.ID)
		if isNotFound(err) || err == nil && run.ID != importID {
			done = true // replaced by another import
			return nil
		}
		if err != nil {
			return err
		}
		w := &importWork{s: s, app: app, run: run, until: until, progress: progress}
		done, err = w.do(ctx)
		if err != nil && ctx.Err() == nil {
			if serr := s.store.SetImportError(ctx, app.ID, importID, appwheel.ErrorMessage(err), s.now()); serr != nil {
				s.log.WarnContext(ctx, "import: recording its error", "app_id", app.ID, "error", serr.Error())
			}
		}
		return err
	})
	return done, err
}

// withImportLease runs fn holding the app's import lease, renewed while fn
// runs; fn's context is cancelled if the lease is lost. Returns
// errImportBusy when another holds it.
func (s *Service) withImportLease(ctx context.Context, appID string, fn func(context.Context) error) error {
	name := "import/" + appID
	b := make([]byte, 12)
	rand.Read(b)
	owner := hex.EncodeToString(b)
	take := func(ctx context.Context) (bool, error) {
		now := s.now()
		return s.store.TryLock(ctx, name, owner, now, now.Add(importLease))
	}
	ok, err := take(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return errImportBusy
	}
	defer s.store.Unlock(context.WithoutCancel(ctx), name, owner)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The renewal stops before the lease is released (the deferred Unlock
	// above runs last), so it cannot take the lease again after.
	stop, stopped := make(chan struct{}), make(chan struct{})
	defer func() { close(stop); <-stopped }()
	go func() {
		defer close(stopped)
		tick := time.NewTicker(importRenew)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if ok, err := take(ctx); err == nil && !ok {
					cancel(errImportBusy)
					return
				}
			}
		}
	}()
	err = fn(ctx)
	if cause := context.Cause(ctx); errors.Is(cause, errImportBusy) {
		return errImportBusy
	}
	return err
}

// importWork is one stretch of work on an import.
type importWork struct {
	s        *Service
	app      *appwheel.App
	run      *appwheel.ImportRun
	until    time.Time
	progress func(*ImportStatus)
}

func (w *importWork) timeUp() bool { return !w.until.IsZero() && time.Now().After(w.until) }

// tell reports progress: w.run as this stretch of work has changed it,
// without reading the store again.
func (w *importWork) tell() {
	if w.progress != nil {
		w.progress(statusOf(w.run))
	}
}

func (w *importWork) do(ctx context.Context) (bool, error) {
	if !w.run.FinishedAt.IsZero() {
		return true, nil
	}
	for !w.run.Listed {
		if w.timeUp() {
			return false, nil
		}
		if err := w.listPage(ctx); err != nil {
			return false, err
		}
		w.tell()
	}
	claims, err := w.claims(ctx)
	if err != nil {
		return false, err
	}
	for after := 0; ; {
		items, err := w.s.store.ImportItems(ctx, w.app.ID, after, importPage, true)
		if err != nil {
			return false, err
		}
		if len(items) == 0 {
			break
		}
		for _, it := range items {
			if w.timeUp() {
				return false, nil
			}
			it.Outcome, it.Reason = claims.ambiguity(it)
			if it.Outcome == "" {
				it.Outcome, it.Reason = w.s.importOne(ctx, w.app, ImportPair{AppUserID: it.AppUserID, CustomerID: it.CustomerID}, w.run.DryRun)
			}
			if err := ctx.Err(); err != nil {
				return false, err // its outcome is the interruption's, not the user's
			}
			now := w.s.now()
			if err := w.s.store.SetImportOutcomes(ctx, w.app.ID, w.run.ID, []appwheel.ImportItem{it}, now); err != nil {
				return false, err
			}
			w.run.Counts.Pending--
			switch it.Outcome {
			case appwheel.ImportLinked, appwheel.ImportWouldLink:
				w.run.Counts.Linked++
			case appwheel.ImportFailed:
				w.run.Counts.Failed++
			default:
				w.run.Counts.Skipped++
			}
			w.run.UpdatedAt, w.run.Error = now, ""
			w.tell()
		}
		after = items[len(items)-1].Seq
	}
	now := w.s.now()
	if err := w.s.store.FinishImport(ctx, w.app.ID, w.run.ID, now); err != nil {
		return false, err
	}
	w.run.FinishedAt, w.run.UpdatedAt = now, now
	w.tell()
	return true, nil
}

// listPage stores the next page of the app's customers as items.
func (w *importWork) listPage(ctx context.Context) error {
	var page *appwheel.CustomerPage
	err := patiently(ctx, func() error {
		if err := w.s.budget(ctx, w.app.ID, 1); err != nil {
			return err
		}
		var err error
		page, err = w.s.stripe.ListCustomers(ctx, w.app.Stripe, w.run.ListedAfter)
		return err
	})
	if err != nil {
		return err
	}
	seq := w.run.Counts.Seen
	items := make([]appwheel.ImportItem, 0, len(page.Customers))
	pending := 0
	for _, c := range page.Customers {
		seq++
		it := appwheel.ImportItem{Seq: seq, CustomerID: c.ID, AppUserID: c.Metadata[w.run.MetadataKey]}
		if it.AppUserID == "" {
			it.Outcome, it.Reason = appwheel.ImportSkipped, fmt.Sprintf("no %q in its metadata", w.run.MetadataKey)
		} else {
			pending++
		}
		items = append(items, it)
	}
	listed := !page.HasMore || len(page.Customers) == 0
	after := w.run.ListedAfter
	if len(page.Customers) > 0 {
		after = page.Customers[len(page.Customers)-1].ID
	}
	now := w.s.now()
	if err := w.s.store.AddImportItems(ctx, w.app.ID, w.run.ID, after, listed, items, now); err != nil {
		return err
	}
	w.run.ListedAfter, w.run.Listed, w.run.UpdatedAt, w.run.Error = after, listed, now, ""
	c := &w.run.Counts
	c.Seen, c.Pending, c.Skipped = seq, c.Pending+pending, c.Skipped+len(items)-pending
	return nil
}

// importClaims are, over every item of an import, the customers that
// claim each user and the users each customer claims.
type importClaims struct {
	byUser, byCustomer map[string][]string
}

// claims reads every item of the import, decided ones included: a claim
// counts whether or not its item was decided before an interruption.
func (w *importWork) claims(ctx context.Context) (*importClaims, error) {
	c := &importClaims{byUser: map[string][]string{}, byCustomer: map[string][]string{}}
	for after := 0; ; {
		items, err := w.s.store.ImportItems(ctx, w.app.ID, after, importPage, false)
		if err != nil {
			return nil, err
		}
		if len(items) == 0 {
			return c, nil
		}
		for _, it := range items {
			if it.AppUserID == "" {
				continue
			}
			if !slices.Contains(c.byUser[it.AppUserID], it.CustomerID) {
				c.byUser[it.AppUserID] = append(c.byUser[it.AppUserID], it.CustomerID)
			}
			if !slices.Contains(c.byCustomer[it.CustomerID], it.AppUserID) {
				c.byCustomer[it.CustomerID] = append(c.byCustomer[it.CustomerID], it.AppUserID)
			}
		}
		after = items[len(items)-1].Seq
	}
}

// ambiguity returns ImportSkipped and why when another item claims it's
// user or its customer, else "".
func (c *importClaims) ambiguity(it appwheel.ImportItem) (outcome, reason string) {
	switch {
	case len(c.byUser[it.AppUserID]) > 1:
		return appwheel.ImportSkipped, fmt.Sprintf("duplicate: user %s is claimed by customers %s",
			it.AppUserID, strings.Join(c.byUser[it.AppUserID], ", "))
	case len(c.byCustomer[it.CustomerID]) > 1:
		return appwheel.ImportSkipped, fmt.Sprintf("duplicate: customer %s is claimed by users %s",
			it.CustomerID, strings.Join(c.byCustomer[it.CustomerID], ", "))
	}
	return "", ""
}

// importOne links one user, unless it is linked and synced already, and
// waits out Stripe's unavailability and rate limits rather than failing.
func (s *Service) importOne(ctx context.Context, app *appwheel.App, p ImportPair, dryRun bool) (outcome, reason string) {
	if st, err := s.store.CustomerState(ctx, app.ID, p.AppUserID); err == nil && st.CustomerID == p.CustomerID &&
		(!mirrored(app) || !st.SyncedAt.IsZero()) {
		return appwheel.ImportAlreadyLinked, ""
	}
	if dryRun {
		if err := s.checkLink(ctx, app, p); err != nil {
			return appwheel.ImportSkipped, appwheel.ErrorMessage(err)
		}
		return appwheel.ImportWouldLink, ""
	}
	err := patiently(ctx, func() error {
		// LinkCustomer's own two calls; the backfill budgets its own.
		if err := s.budget(ctx, app.ID, 2); err != nil {
			return err
		}
		_, err := s.LinkCustomer(ctx, app, LinkCustomerParams{AppUserID: p.AppUserID, CustomerID: p.CustomerID})
		return err
	})
	switch code := appwheel.ErrorCode(err); {
	case err == nil:
		return appwheel.ImportLinked, ""
	case code == appwheel.ECONFLICT || code == appwheel.ENOTFOUND || code == appwheel.EINVALID:
		return appwheel.ImportSkipped, appwheel.ErrorMessage(err)
	default:
		return appwheel.ImportFailed, appwheel.ErrorMessage(err)
	}
}

// patiently runs fn until it succeeds or fails otherwise than by Stripe
// being unavailable or rate limiting (what is left of those after the
// Stripe adapter's own retries), at most importRetries times, waiting
// twice as long each time from importBackoff: an import slows down in a
// storm of 429s rather than failing.
func patiently(ctx context.Context, fn func() error) error {
	wait := importBackoff
	for attempt := 1; ; attempt++ {
		err := fn()
		if appwheel.ErrorCode(err) != appwheel.ESTRIPEUNAVAILABLE || attempt == importRetries {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}
