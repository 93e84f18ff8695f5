package main

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// seedMetadataKey is the customer metadata key where the seeded "app's own
// backend" keeps its user's id, the key apps import is told to read.
const seedMetadataKey = "user_id"

// maxSeedUsers bounds --users: enough for a realistic import, small enough
// for the local sandbox.
const maxSeedUsers = 10000

// seedWorkers is how many users are seeded at a time: light concurrency,
// each user's requests in order.
const seedWorkers = 4

// seedCardTokens are the test cards attached, in this order: user i gets
// the first 1 + (i-1)%3.
var seedCardTokens = []string{"pm_card_visa", "pm_card_mastercard", "pm_card_amex"}

func sandboxSeedExistingCommand() *cobra.Command {
	var (
		users  int
		prefix string
	)
	c := &cobra.Command{
		Use:   "seed-existing --users N [--user-prefix existing-]",
		Short: "create customers as an app's own backend made them before AppWheel",
		Long: `Create, in the running dev's sandbox, the Stripe customers an app's own backend
would have made before it used AppWheel, to try importing them: customers
without AppWheel's metadata, naming their user in metadata[user_id] (users
PREFIX1 … PREFIXN), each with an email and 1 to 3 test cards.

User i has the first 1 + (i-1) % 3 of the cards visa, mastercard and amex. Odd
users have the first card as the customer's default payment method
(invoice_settings.default_payment_method), even ones have none. Every user but
each fifth is subscribed to the demo product (yearly for each third user, else
monthly), on its newest card as the subscription's default payment method, as
app backends do: the sandbox issues and charges the first invoice.

It refuses to seed a prefix whose users exist already (any customer with
metadata user_id PREFIXi, i from 1 to N), naming the first: choose another
prefix for more. It prints what it created and the metadata key to import
by: user_id.`,
		Example: `  appwheel sandbox seed-existing --users 50
  appwheel sandbox seed-existing --users 200 --user-prefix legacy- --data-dir /tmp/appwheel-dev`,
		// --users is checked before dev.json is read: a usage error with or
		// without a dev running.
		PreRunE: func(*cobra.Command, []string) error {
			if users < 1 || users > maxSeedUsers {
				return usageErrorf("sandbox seed-existing needs --users N, from 1 to %d (got %d)", maxSeedUsers, users)
			}
			if len(prefix)+len(strconv.Itoa(users)) > 500 {
				return usageErrorf("sandbox seed-existing: --user-prefix is too long (a metadata value is at most 500 characters)")
			}
			return nil
		},
	}
	return sandboxSubcommand(c, func(fs *pflag.FlagSet) {
		fs.IntVar(&users, "users", 0, fmt.Sprintf("how many customers (users) to create, 1 to %d (required)", maxSeedUsers))
		fs.StringVar(&prefix, "user-prefix", "existing-", "the users' id `prefix`: their ids are PREFIX1 … PREFIXN")
	}, func(cmd *cobra.Command, sc *sandboxClient, dev *devFile, dataDir string) error {
		var prices [2]string
		for i, name := range []string{"monthly", "yearly"} {
			if prices[i] = dev.Prices[name]; prices[i] == "" {
				return fmt.Errorf("dev.json has no %s price: restart appwheel dev", name)
			}
		}
		if err := checkNotSeeded(cmd.Context(), sc, prefix, users); err != nil {
			return err
		}
		res, err := seedExisting(cmd.Context(), sc, prefix, users, prices)
		if err != nil {
			return fmt.Errorf("%w (created before the failure: %s)", err, res.counts())
		}
		w := cmd.OutOrStdout()
		fmt.Fprintf(w, "seeded %s, for users %s1 … %s%d (metadata %s), none of them AppWheel's\n", res.counts(), prefix, prefix, users, seedMetadataKey)
		fmt.Fprintf(w, "to import them, the metadata key is %[1]s: %[2]s apps import %[3]s --metadata-key %[1]s --data-dir %[4]s\n",
			seedMetadataKey, selfCommand(os.Executable, exec.LookPath), dev.AppID, shellQuote(dataDir))
		return nil
	})
}

// seedUserID is the id of the app's user i.
func seedUserID(prefix string, i int) string { return prefix + strconv.Itoa(i) }

// seedEmail is an address for user id: its characters an address allows,
// at example.com.
func seedEmail(id string) string {
	local := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '+', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, id)
	local = strings.Trim(local, ".")
	if local == "" {
		local = "user"
	}
	return local + "@example.com"
}

// checkNotSeeded refuses when a customer of the sandbox account already
// has metadata user_id PREFIXi for some i in 1..n, naming the one with the
// lowest i.
func checkNotSeeded(ctx context.Context, sc *sandboxClient, prefix string, n int) error {
	first, firstCustomer, count := 0, "", 0
	after := ""
	for {
		q := url.Values{"limit": {"100"}}
		if after != "" {
			q.Set("starting_after", after)
		}
		var page struct {
			Data []struct {
				ID       string            `json:"id"`
				Metadata map[string]string `json:"metadata"`
			} `json:"data"`
			HasMore bool `json:"has_more"`
		}
		if err := sc.do(ctx, "GET", "/v1/customers?"+q.Encode(), nil, &page); err != nil {
			return err
		}
		for _, c := range page.Data {
			v, ok := c.Metadata[seedMetadataKey]
			if !ok || !strings.HasPrefix(v, prefix) {
				continue
			}
			rest := v[len(prefix):]
			i, err := strconv.Atoi(rest)
			if err != nil || i < 1 || i > n || strconv.Itoa(i) != rest {
				continue
			}
			count++
			if first == 0 || i < first {
				first, firstCustomer = i, c.ID
			}
		}
		if !page.HasMore || len(page.Data) == 0 {
			break
		}
		after = page.Data[len(page.Data)-1].ID
	}
	if count == 0 {
		return nil
	}
	return fmt.Errorf("the sandbox has customers for these users already (%d, the first %s: %s): nothing seeded; pass another --user-prefix",
		count, seedUserID(prefix, first), firstCustomer)
}

// seedResult counts what seedExisting created.
type seedResult struct {
	mu                             sync.Mutex
	customers, cards, defaults     int
	subscriptions, monthly, yearly int
	active, paidInvoices           int
	otherStatuses                  map[string]int // subscriptions not active, by status
}

func (r *seedResult) counts() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := fmt.Sprintf("%d customers (%d with a default card), %d cards, %d subscriptions (%d monthly, %d yearly; %d active",
		r.customers, r.defaults, r.cards, r.subscriptions, r.monthly, r.yearly, r.active)
	for _, status := range slices.Sorted(maps.Keys(r.otherStatuses)) {
		s += fmt.Sprintf(", %d %s", r.otherStatuses[status], status)
	}
	return s + fmt.Sprintf(") with %d paid invoices", r.paidInvoices)
}

// seedExisting creates users 1..n, seedWorkers at a time, each user's
// requests in order. The first failure stops the others; the result counts
// what was created until then.
func seedExisting(ctx context.Context, sc *sandboxClient, prefix string, n int, prices [2]string) (*seedResult, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	res := &seedResult{otherStatuses: map[string]int{}}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(seedWorkers, n) {
		wg.Go(func() {
			for i := range next {
				if err := seedUser(ctx, sc, res, prefix, i, prices); err != nil {
					cancel(fmt.Errorf("seeding user %s: %w", seedUserID(prefix, i), err))
					return
				}
			}
		})
	}
feed:
	for i := 1; i <= n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return res, err
	}
	return res, nil
}

// seedUser creates user i as the app's own backend would have: the
// customer, its cards, maybe its default card, maybe a subscription.
func seedUser(ctx context.Context, sc *sandboxClient, res *seedResult, prefix string, i int, prices [2]string) error {
	id := seedUserID(prefix, i)
	tokens := seedCardTokens[:1+(i-1)%len(seedCardTokens)]
	// The customer is created with its first card, as backends often do:
	// one request fewer, each of which the sandbox persists.
	var cus struct {
		ID string `json:"id"`
	}
	if err := sc.do(ctx, "POST", "/v1/customers", url.Values{
		"metadata[" + seedMetadataKey + "]": {id},
		"email":                             {seedEmail(id)},
		"payment_method":                    {tokens[0]},
	}, &cus); err != nil {
		return err
	}
	var methods struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := sc.do(ctx, "GET", "/v1/customers/"+cus.ID+"/payment_methods?limit=1", nil, &methods); err != nil {
		return err
	}
	if len(methods.Data) != 1 {
		return fmt.Errorf("customer %s has %d payment methods after its creation with one", cus.ID, len(methods.Data))
	}
	cards := []string{methods.Data[0].ID}
	res.add(func() { res.customers++; res.cards++ })

	for _, tok := range tokens[1:] {
		var pm struct {
			ID string `json:"id"`
		}
		if err := sc.do(ctx, "POST", "/v1/payment_methods/"+tok+"/attach", url.Values{"customer": {cus.ID}}, &pm); err != nil {
			return err
		}
		cards = append(cards, pm.ID)
		res.add(func() { res.cards++ })
	}

	if i%2 == 1 {
		if err := sc.do(ctx, "POST", "/v1/customers/"+cus.ID, url.Values{"invoice_settings[default_payment_method]": {cards[0]}}, &struct{}{}); err != nil {
			return err
		}
		res.add(func() { res.defaults++ })
	}

	if i%5 == 0 {
		return nil
	}
	price, yearly := prices[0], i%3 == 0
	if yearly {
		price = prices[1]
	}
	var sub struct {
		Status        string `json:"status"`
		LatestInvoice struct {
			Status string `json:"status"`
		} `json:"latest_invoice"`
	}
	if err := sc.do(ctx, "POST", "/v1/subscriptions", url.Values{
		"customer":               {cus.ID},
		"items[0][price]":        {price},
		"default_payment_method": {cards[len(cards)-1]},
		"expand[0]":              {"latest_invoice"},
	}, &sub); err != nil {
		return err
	}
	res.add(func() {
		res.subscriptions++
		if yearly {
			res.yearly++
		} else {
			res.monthly++
		}
		if sub.Status == "active" {
			res.active++
		} else {
			res.otherStatuses[sub.Status]++
		}
		if sub.LatestInvoice.Status == "paid" {
			res.paidInvoices++
		}
	})
	return nil
}

func (r *seedResult) add(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f()
}
