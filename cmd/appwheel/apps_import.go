package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
	"github.com/appwheel/appwheel/jobs"
)

// appsImportCommand links every user an app already has at Stripe, by a
// metadata key or from a CSV file (billing.Service.StartImport), in the
// foreground or handed to the server's jobs.
func appsImportCommand() *cobra.Command {
	var (
		asJSON, dryRun, background bool
		key, csvPath, reportF      string
	)
	c := &cobra.Command{
		Use:   "import APP_ID (--metadata-key KEY | --csv FILE)",
		Short: "link the users an app already has at Stripe to their customers",
		Long: `Link the users an app already has at Stripe: every customer of the app's Stripe
account whose metadata names the user under --metadata-key, or the
appUserId,customerId rows of a --csv file. Each is linked as "apps link" links
one. Nothing is guessed: a user claimed by two customers (or a customer by two
users) is reported and left unlinked. Stripe calls stay within the app's
background budget of Stripe calls (--stripe-background-rate, 20/s by default), and Stripe being
unavailable or rate limiting slows the import instead of failing it.

The import is kept in the database, customer by customer, so it is resumable:
run the same command again after an interruption and it goes on where it
stopped; once finished, running it again links nothing new. An unfinished
import with other parameters is replaced. Progress goes to stderr (a bar on a
terminal, a line every few seconds otherwise); --report writes each skipped
and failed customer, with the reason, as JSON lines.

With --background the server's jobs do the work (serve must be running on the
same database), and it survives a restart or deploy of the server; follow it
with "apps import-status".`,
		Example: `  appwheel apps import app_… --metadata-key user_id --dry-run
  appwheel apps import app_… --metadata-key user_id --report import.jsonl
  appwheel apps import app_… --csv users.csv
  appwheel apps import app_… --metadata-key user_id --background`,
		Args: oneID("apps import"),
	}
	return appsSubcommandOn(appsStripeSets, c, &asJSON, func(fs *pflag.FlagSet) {
		fs.StringVar(&key, "metadata-key", "", "the customer metadata key that holds the app's user id")
		fs.StringVar(&csvPath, "csv", "", "a CSV file of appUserId,customerId rows (a header row is allowed) instead of --metadata-key")
		fs.BoolVar(&dryRun, "dry-run", false, "report what would be linked; link nothing")
		fs.StringVar(&reportF, "report", "", "write each skipped and failed customer as a JSON line to this file")
		fs.BoolVar(&background, "background", false, "hand the import to the server's jobs and return")
	}, func(cmd *cobra.Command, d *deps, args []string) error {
		if (key == "") == (csvPath == "") {
			return usageErrorf("apps import needs one of --metadata-key or --csv")
		}
		if background && reportF != "" {
			return usageErrorf("--report is written when the import ends; with --background, ask apps import-status --report")
		}
		p := billing.ImportParams{MetadataKey: key, DryRun: dryRun, Background: background}
		if csvPath != "" {
			var err error
			if p.Pairs, err = readPairs(csvPath); err != nil {
				return err
			}
		}
		app, err := d.apps.App(cmd.Context(), args[0])
		if err != nil {
			return cliError(err)
		}
		bill := newBilling(d)
		if background {
			queue, err := openQueue(cmd.Context(), d)
			if err != nil {
				return err
			}
			defer queue.Stop(context.WithoutCancel(cmd.Context()))
			bill = newBillingWith(d, func(c *billing.Config) { c.EnqueueImport = queue.EnqueueImport })
		}
		st, err := bill.StartImport(cmd.Context(), app, p)
		if err != nil {
			return cliError(err)
		}
		if !background {
			show := newProgress(cmd.ErrOrStderr())
			st, err = bill.RunImport(cmd.Context(), app, st.ImportID, show.update)
			if err != nil {
				return cliError(err)
			}
			show.done(st)
			if err := writeReport(cmd.Context(), bill, app, reportF); err != nil {
				return err
			}
		}
		return printImport(cmd.OutOrStdout(), app.ID, st, asJSON)
	})
}

// appsImportStatusCommand shows an app's latest import.
func appsImportStatusCommand() *cobra.Command {
	var (
		asJSON, wait bool
		reportF      string
	)
	c := &cobra.Command{
		Use:   "import-status APP_ID",
		Short: "show the progress of the app's latest import",
		Long: `Show the app's latest import (apps import): its state (listing the app's
Stripe customers, linking the users found, or finished), how many customers it
has seen, linked, skipped and failed, and the error that last stopped it, if
it made no progress since. --wait follows it until it is finished; --report
writes each skipped and failed customer so far, with the reason, as JSON lines.`,
		Example: `  appwheel apps import-status app_…
  appwheel apps import-status app_… --wait --report import.jsonl`,
		Args: oneID("apps import-status"),
	}
	return appsSubcommand(c, &asJSON, func(fs *pflag.FlagSet) {
		fs.BoolVar(&wait, "wait", false, "follow the import until it is finished")
		fs.StringVar(&reportF, "report", "", "write each skipped and failed customer as a JSON line to this file")
	}, func(cmd *cobra.Command, d *deps, args []string) error {
		app, err := d.apps.App(cmd.Context(), args[0])
		if err != nil {
			return cliError(err)
		}
		bill := newBilling(d)
		st, err := bill.ImportStatus(cmd.Context(), app)
		if err != nil {
			return cliError(err)
		}
		if wait && st.State != billing.ImportFinished {
			show := newProgress(cmd.ErrOrStderr())
			for st.State != billing.ImportFinished {
				show.update(st)
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-time.After(time.Second):
				}
				if st, err = bill.ImportStatus(cmd.Context(), app); err != nil {
					return cliError(err)
				}
			}
			show.done(st)
		}
		if err := writeReport(cmd.Context(), bill, app, reportF); err != nil {
			return err
		}
		return printImport(cmd.OutOrStdout(), app.ID, st, asJSON)
	})
}

// openQueue opens the jobs on the command's database to enqueue, not run.
func openQueue(ctx context.Context, d *deps) (*jobs.Jobs, error) {
	jc := jobsConfig(d.cfg, d.store)
	jc.Handlers, jc.Logger = noHandlers{}, d.logger
	queue, err := jobs.New(jc)
	if err != nil {
		return nil, err
	}
	return queue, queue.Open(ctx)
}

// printImport prints an import's status: its JSON, or a line.
func printImport(w io.Writer, appID string, st *billing.ImportStatus, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(st)
	}
	verb := "linked"
	if st.DryRun {
		verb = "would link"
	}
	line := fmt.Sprintf("%s: import %s %s: %d customers seen, %s %d, skipped %d, failed %d",
		appID, st.ImportID, st.State, st.Seen, verb, st.Linked, st.Skipped, st.Failed)
	switch {
	case st.State != billing.ImportFinished && st.Background:
		line += fmt.Sprintf(", %d to go; the server's jobs work on it (apps import-status %s --wait follows it)", st.Pending, appID)
	case st.State != billing.ImportFinished:
		line += fmt.Sprintf(", %d to go; run the same apps import again to go on", st.Pending)
	}
	if st.Error != "" {
		line += "; last error: " + st.Error
	}
	_, err := fmt.Fprintln(w, line)
	return err
}

// writeReport writes the skipped and failed customers of the app's import
// to path as JSON lines, when path is not "".
func writeReport(ctx context.Context, bill *billing.Service, app *appwheel.App, path string) error {
	if path == "" {
		return nil
	}
	problems, err := bill.ImportProblems(ctx, app)
	if err != nil {
		return cliError(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, it := range problems {
		if err := enc.Encode(importReportLine{CustomerID: it.CustomerID, AppUserID: it.AppUserID, Outcome: it.Outcome, Reason: it.Reason}); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// importReportLine is one line of an import's --report.
type importReportLine struct {
	CustomerID string `json:"customerId"`
	AppUserID  string `json:"appUserId,omitempty"`
	Outcome    string `json:"outcome"`
	Reason     string `json:"reason"`
}

// readPairs reads a CSV file of appUserId,customerId rows; a first row
// naming the columns is skipped.
func readPairs(path string) ([]billing.ImportPair, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 2
	r.TrimLeadingSpace = true
	var pairs []billing.ImportPair
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return pairs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if line == 1 && strings.EqualFold(rec[0], "appUserId") {
			continue
		}
		pairs = append(pairs, billing.ImportPair{AppUserID: rec[0], CustomerID: rec[1]})
	}
}

// progress shows an import's counts on w: a bar with rate and ETA on a
// terminal, otherwise a plain line every few seconds.
type progress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar // nil when w is not a terminal
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, start: time.Now(), last: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(w), progressbar.OptionShowCount(),
			progressbar.OptionShowIts(), progressbar.OptionSetItsString("customers"), progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish())
	}
	return p
}

func (p *progress) update(st *billing.ImportStatus) {
	if p.bar != nil {
		// The bar counts decided customers out of those seen, known once
		// the listing is done.
		if st.State != billing.ImportListing && p.bar.GetMax() != st.Seen {
			p.bar.ChangeMax(st.Seen)
		}
		p.bar.Describe(fmt.Sprintf("%s: seen %d, linked %d, skipped %d, failed %d", st.State, st.Seen, st.Linked, st.Skipped, st.Failed))
		p.bar.Set(st.Seen - st.Pending)
		return
	}
	if time.Since(p.last) >= 3*time.Second {
		p.last = time.Now()
		p.line(st)
	}
}

func (p *progress) done(st *billing.ImportStatus) {
	if p.bar != nil {
		p.bar.Finish()
		return
	}
	p.line(st)
}

func (p *progress) line(st *billing.ImportStatus) {
	rate := float64(st.Seen-st.Pending) / max(time.Since(p.start).Seconds(), 0.001)
	fmt.Fprintf(p.w, "import: %s, seen %d, to go %d, linked %d, skipped %d, failed %d (%.0f customers/s)\n",
		st.State, st.Seen, st.Pending, st.Linked, st.Skipped, st.Failed, rate)
}
