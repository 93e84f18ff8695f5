package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// webhookEndpoint is where an account's events go, and the secret that
// signs them.
type webhookEndpoint struct {
	URL    string
	Secret string
}

// delivery is one event to send to one endpoint. It carries its payload
// and secret, so that sending it needs no state lock, and it is kept in the
// snapshot until it succeeds or runs out of attempts.
type delivery struct {
	ID       string          `json:"id"`
	EventID  string          `json:"event_id"`
	URL      string          `json:"url"`
	Secret   string          `json:"secret"`
	Payload  json.RawMessage `json:"payload"`
	Attempts int             `json:"attempts"`
	Due      time.Time       `json:"due"`
}

// deliveriesFor makes the deliveries of events to the account's endpoints.
// Called under the state lock.
func (s *Sandbox) deliveriesFor(hash string, events []*event) []*delivery {
	eps := s.hooks[hash]
	if len(eps) == 0 {
		return nil
	}
	var out []*delivery
	for _, e := range events {
		payload, err := json.MarshalIndent(e, "", "  ")
		if err != nil {
			panic(err)
		}
		for _, ep := range eps {
			out = append(out, &delivery{ID: s.ids.newID("whdel", s.now()), EventID: e.ID, URL: ep.URL, Secret: ep.Secret, Payload: payload})
		}
	}
	return out
}

// deliverer sends deliveries with a few concurrent workers, retrying each
// failure (a non-2xx answer or a network error) after a delay that doubles
// from base, up to max attempts: at least once, in no particular order,
// like Stripe. It has its own lock and never takes the state lock.
type deliverer struct {
	client  *http.Client
	base    time.Duration
	max     int
	log     *slog.Logger
	workers int

	mu       sync.Mutex
	queue    []*delivery          // waiting, by no order; Due says when
	inFlight map[string]*delivery // being sent
	wake     chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

func newDeliverer(client *http.Client, base time.Duration, max int, log *slog.Logger) *deliverer {
	ctx, cancel := context.WithCancel(context.Background())
	return &deliverer{client: client, base: base, max: max, log: log, workers: 4,
		inFlight: map[string]*delivery{}, wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel}
}

// enqueue adds deliveries, due now unless they say otherwise.
func (d *deliverer) enqueue(ds ...*delivery) {
	if len(ds) == 0 {
		return
	}
	d.mu.Lock()
	d.queue = append(d.queue, ds...)
	d.mu.Unlock()
	d.signal()
}

func (d *deliverer) signal() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// pending returns every delivery not yet done, for the snapshot.
func (d *deliverer) pending() []*delivery {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*delivery, 0, len(d.queue)+len(d.inFlight))
	for _, dl := range d.queue {
		c := *dl
		out = append(out, &c)
	}
	for _, dl := range d.inFlight {
		c := *dl
		out = append(out, &c)
	}
	return out
}

func (d *deliverer) start() {
	for range d.workers {
		d.wg.Add(1)
		go d.work()
	}
}

// close stops the workers; deliveries in flight are abandoned (their
// requests canceled) and kept, like the queued ones, for the snapshot.
func (d *deliverer) close() {
	d.cancel()
	d.wg.Wait()
}

// next takes the earliest due delivery, or says how long to wait for one.
func (d *deliverer) next() (*delivery, time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	best, wait := -1, time.Hour
	for i, dl := range d.queue {
		if w := dl.Due.Sub(now); w <= 0 {
			if best < 0 || dl.Due.Before(d.queue[best].Due) {
				best = i
			}
		} else if w < wait {
			wait = w
		}
	}
	if best < 0 {
		return nil, wait
	}
	dl := d.queue[best]
	d.queue = append(d.queue[:best], d.queue[best+1:]...)
	d.inFlight[dl.ID] = dl
	return dl, 0
}

func (d *deliverer) work() {
	defer d.wg.Done()
	for {
		dl, wait := d.next()
		if dl == nil {
			timer := time.NewTimer(wait)
			select {
			case <-d.ctx.Done():
				timer.Stop()
				return
			case <-d.wake:
			case <-timer.C:
			}
			timer.Stop()
			continue
		}
		err := d.send(dl)
		if d.ctx.Err() != nil {
			// Closing: keep it in flight, so pending() still reports it.
			return
		}
		d.mu.Lock()
		delete(d.inFlight, dl.ID)
		dl.Attempts++
		switch {
		case err == nil:
		case dl.Attempts >= d.max:
			d.log.Warn("sandbox: webhook delivery abandoned", "event", dl.EventID, "url", dl.URL, "attempts", dl.Attempts, "error", err)
		default:
			dl.Due = time.Now().Add(d.base << min(dl.Attempts-1, 20))
			d.queue = append(d.queue, dl)
			d.log.Info("sandbox: webhook delivery failed; will retry", "event", dl.EventID, "url", dl.URL, "attempt", dl.Attempts, "error", err)
		}
		d.mu.Unlock()
		d.signal() // another worker may wait on a retry due sooner
	}
}

// send posts the event, signed as Stripe signs: Stripe-Signature
// t=<unix>,v1=<hex HMAC-SHA256 of "t.payload" with the endpoint secret>.
// The timestamp is the wall clock's, not the test clock's nor Config.Now's:
// receivers check it against their own clock (300s tolerance in stripe-go's
// webhook.ConstructEvent).
func (d *deliverer) send(dl *delivery) error {
	ts := time.Now().Unix()
	req, err := http.NewRequestWithContext(d.ctx, http.MethodPost, dl.URL, bytes.NewReader(dl.Payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks) AppWheel-Sandbox")
	req.Header.Set("Stripe-Signature", signature(ts, dl.Payload, dl.Secret))
	res, err := d.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("endpoint answered %s", res.Status)
	}
	return nil
}

// signature is the Stripe-Signature header of payload at ts.
func signature(ts int64, payload []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte("."))
	mac.Write(payload)
	return "t=" + strconv.FormatInt(ts, 10) + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}
