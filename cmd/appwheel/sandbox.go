package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// runSandbox drives scenarios on a running appwheel dev, found through
// DATA_DIR/dev.json, over the sandbox's HTTP API (the same calls a script
// could make with curl).
func runSandbox(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	sub, args := args[0], args[1:]
	var user, price string
	var days int
	cfg, _, err := parseConfig("sandbox "+sub, args, stderr, func(fs *flag.FlagSet) {
		switch sub {
		case "subscribe":
			fs.StringVar(&user, "user", "", "the appUserId to subscribe")
			fs.StringVar(&price, "price", "monthly", "price id, or monthly / yearly")
		case "advance":
			fs.IntVar(&days, "days", 0, "days to move the sandbox clock on")
		}
	})
	if err != nil {
		return err
	}
	dev, err := readDevFile(filepath.Join(cfg.DataDir, "dev.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return errNoDevServer
	}
	if err != nil {
		return err
	}
	sc := &sandboxClient{base: dev.StripeAPIBase, key: dev.StripeSecretKey, http: &http.Client{Timeout: 30 * time.Second}}

	switch sub {
	case "subscribe":
		if user == "" {
			return errors.New("sandbox subscribe needs --user")
		}
		if id, ok := dev.Prices[price]; ok {
			price = id
		}
		var found struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		q := url.Values{"query": {fmt.Sprintf("metadata['appwheel_app_user_id']:'%s'", strings.ReplaceAll(user, "'", "\\'"))}}
		if err := sc.do(ctx, "GET", "/v1/customers/search?"+q.Encode(), nil, &found); err != nil {
			return err
		}
		if len(found.Data) == 0 {
			return fmt.Errorf("user %q has no Stripe customer yet: add a payment method first", user)
		}
		customer := found.Data[0].ID
		form := url.Values{"customer": {customer}, "items[0][price]": {price}}
		// Stripe charges the customer's default method; a card added
		// through a SetupIntent or Checkout is not made the default, so
		// without one the newest card is charged.
		var cus struct {
			InvoiceSettings struct {
				DefaultPaymentMethod *string `json:"default_payment_method"`
			} `json:"invoice_settings"`
		}
		if err := sc.do(ctx, "GET", "/v1/customers/"+customer, nil, &cus); err != nil {
			return err
		}
		if cus.InvoiceSettings.DefaultPaymentMethod == nil {
			var methods struct {
				Data []struct {
					ID string `json:"id"`
				} `json:"data"`
			}
			if err := sc.do(ctx, "GET", "/v1/customers/"+customer+"/payment_methods?limit=1", nil, &methods); err != nil {
				return err
			}
			if len(methods.Data) == 0 {
				return fmt.Errorf("user %q has no payment method to charge: add one first", user)
			}
			form.Set("default_payment_method", methods.Data[0].ID)
		}
		var sub map[string]any
		if err := sc.do(ctx, "POST", "/v1/subscriptions", form, &sub); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "subscription %v for %s: %v\n", sub["id"], user, sub["status"])
		return nil
	case "advance":
		if days < 1 {
			return errors.New("sandbox advance needs --days N (N ≥ 1)")
		}
		var out map[string]any
		if err := sc.do(ctx, "POST", "/_sandbox/advance", url.Values{"days": {strconv.Itoa(days)}}, &out); err != nil {
			return err
		}
		b, _ := json.Marshal(out)
		fmt.Fprintf(stdout, "sandbox clock moved on %d days: %s\n", days, b)
		return nil
	}
	return fmt.Errorf("unknown sandbox command %q", sub)
}

// sandboxClient makes form-encoded calls to the sandbox as Stripe's clients do.
type sandboxClient struct {
	base, key string
	http      *http.Client
}

func (c *sandboxClient) do(ctx context.Context, method, path string, form url.Values, out any) error {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("is appwheel dev running? %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("sandbox: %s (HTTP %d)", e.Error.Message, resp.StatusCode)
		}
		return fmt.Errorf("sandbox: HTTP %d", resp.StatusCode)
	}
	return json.Unmarshal(raw, out)
}
