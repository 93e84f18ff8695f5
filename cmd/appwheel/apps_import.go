package main

import (
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

	"github.com/appwheel/appwheel/billing"
)

// appsImportCommand links every user an app already has at Stripe, by a
// metadata key or from a CSV file (billing.Service.Import).
func appsImportCommand() *cobra.Command {
	var (
		asJSON                bool
		key, csvPath, reportF string
		dryRun                bool
	)
	c := &cobra.Command{
		Use:   "import APP_ID (--metadata-key KEY | --csv FILE)",
		Short: "link the users an app already has at Stripe to their customers",
		Long: `Link the users an app already has at Stripe: every customer of the app's Stripe
account whose metadata names the user under --metadata-key, or the
appUserId,customerId rows of a --csv file. Each is linked as "apps link" links
one. Nothing is guessed: a user claimed by two customers (or a customer by two
users) is reported and left unlinked. Stripe calls stay within the app's
background budget of Stripe calls (serve's, 20/s by default), and Stripe being
unavailable or rate limiting slows the import instead of failing it.

Resumable: run it again after an interruption and it finishes; users already
linked are left alone, so a second run changes nothing. Progress goes to
stderr (a bar on a terminal, a line every few seconds otherwise); --report
writes each skipped and failed customer, with the reason, as JSON lines.`,
		Example: `  appwheel apps import app_… --metadata-key user_id --dry-run
  appwheel apps import app_… --metadata-key user_id --report import.jsonl
  appwheel apps import app_… --csv users.csv`,
		Args: oneID("apps import"),
	}
	return appsSubcommand(c, &asJSON, func(fs *pflag.FlagSet) {
		fs.StringVar(&key, "metadata-key", "", "the customer metadata key that holds the app's user id")
		fs.StringVar(&csvPath, "csv", "", "a CSV file of appUserId,customerId rows (a header row is allowed) instead of --metadata-key")
		fs.BoolVar(&dryRun, "dry-run", false, "report what would be linked; link nothing")
		fs.StringVar(&reportF, "report", "", "write each skipped and failed customer as a JSON line to this file")
	}, func(cmd *cobra.Command, d *deps, args []string) error {
		if (key == "") == (csvPath == "") {
			return usageErrorf("apps import needs one of --metadata-key or --csv")
		}
		p := billing.ImportParams{MetadataKey: key, DryRun: dryRun}
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
		if reportF != "" {
			f, err := os.OpenFile(reportF, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			defer f.Close()
			enc := json.NewEncoder(f)
			p.Outcome = func(o billing.ImportOutcome) {
				if o.Outcome == billing.ImportSkipped || o.Outcome == billing.ImportFailed {
					enc.Encode(o)
				}
			}
		}
		show := newProgress(cmd.ErrOrStderr())
		p.Progress = show.update
		prog, err := newBilling(d).Import(cmd.Context(), app, p)
		show.done(prog)
		if err != nil {
			return cliError(err)
		}
		if asJSON {
			return json.NewEncoder(cmd.OutOrStdout()).Encode(prog)
		}
		verb := "linked"
		if dryRun {
			verb = "would link"
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: %d customers seen, %s %d, skipped %d, failed %d\n",
			app.ID, prog.Seen, verb, prog.Linked, prog.Skipped, prog.Failed)
		return err
	})
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

func (p *progress) update(c billing.ImportProgress) {
	if p.bar != nil {
		if c.Total > 0 && p.bar.GetMax() != c.Total {
			p.bar.ChangeMax(c.Total)
			p.bar.Reset()
		}
		p.bar.Describe(fmt.Sprintf("seen %d, linked %d, skipped %d, failed %d", c.Seen, c.Linked, c.Skipped, c.Failed))
		if c.Total > 0 {
			p.bar.Set(c.Linked + c.Failed + c.Skipped)
		}
		return
	}
	if time.Since(p.last) >= 3*time.Second {
		p.last = time.Now()
		p.line(c)
	}
}

func (p *progress) done(c billing.ImportProgress) {
	if p.bar != nil {
		p.bar.Finish()
		return
	}
	p.line(c)
}

func (p *progress) line(c billing.ImportProgress) {
	rate := float64(c.Seen) / max(time.Since(p.start).Seconds(), 0.001)
	fmt.Fprintf(p.w, "import: seen %d, to link %d, linked %d, skipped %d, failed %d (%.0f customers/s)\n",
		c.Seen, c.Total, c.Linked, c.Skipped, c.Failed, rate)
}
