package notify

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/appwheel/appwheel"
)

// MaxEndpoints bounds an app's endpoints.
const MaxEndpoints = 16

// SecretPrefix begins every endpoint's signing secret.
const SecretPrefix = "awhsec_"

// AddEndpoint registers an endpoint of the app at rawURL for the event
// types events (all when empty) and returns it with its signing secret,
// which is shown this once: it is stored sealed.
//
// Returns EINVALID for a URL the policy refuses (CheckURL), an unknown
// event type, or one endpoint too many.
func (s *Service) AddEndpoint(ctx context.Context, appID, rawURL string, events []string) (*appwheel.WebhookEndpoint, string, error) {
	u, err := s.policy.CheckURL(ctx, rawURL)
	if err != nil {
		return nil, "", err
	}
	events, err = checkEvents(events)
	if err != nil {
		return nil, "", err
	}
	eps, err := s.store.Endpoints(ctx, appID)
	if err != nil {
		return nil, "", err
	}
	if len(eps) >= MaxEndpoints {
		return nil, "", appwheel.Errorf(appwheel.EINVALID, "app %s has %d endpoints already, the most it may have", appwheel.Quote(appID), MaxEndpoints)
	}
	now := s.now()
	ep := &appwheel.WebhookEndpoint{
		AppID: appID, ID: "we_" + randomHex(12), URL: u.String(), Events: events,
		CreatedAt: now, UpdatedAt: now,
	}
	secret := newSecret()
	ep.SealedSecret = s.box.Seal(secret, sealContext(ep))
	if err := s.store.CreateEndpoint(ctx, ep); err != nil {
		return nil, "", err
	}
	return ep, secret, nil
}

// Endpoints returns the app's endpoints, oldest first.
func (s *Service) Endpoints(ctx context.Context, appID string) ([]*appwheel.WebhookEndpoint, error) {
	return s.store.Endpoints(ctx, appID)
}

// RemoveEndpoint deletes an endpoint: nothing more is sent to it. Returns
// ENOTFOUND for an endpoint the app does not have.
func (s *Service) RemoveEndpoint(ctx context.Context, appID, id string) error {
	return s.store.DeleteEndpoint(ctx, appID, id)
}

// RotateSecret gives an endpoint a new signing secret, used from the next
// attempt on, and returns it (shown this once).
func (s *Service) RotateSecret(ctx context.Context, appID, id string) (string, error) {
	ep, err := s.store.Endpoint(ctx, appID, id)
	if err != nil {
		return "", err
	}
	secret := newSecret()
	ep.SealedSecret, ep.UpdatedAt = s.box.Seal(secret, sealContext(ep)), s.now()
	return secret, s.store.UpdateEndpoint(ctx, ep)
}

// SetDisabled disables an endpoint (nothing is sent to it; deliveries due
// meanwhile are given up) or enables it again, its failures forgotten.
func (s *Service) SetDisabled(ctx context.Context, appID, id string, disabled bool) (*appwheel.WebhookEndpoint, error) {
	ep, err := s.store.Endpoint(ctx, appID, id)
	if err != nil {
		return nil, err
	}
	ep.Disabled, ep.DisabledReason, ep.UpdatedAt = disabled, "", s.now()
	if disabled {
		ep.DisabledReason = appwheel.DisabledByOperator
	} else {
		ep.FailingSince = time.Time{}
	}
	return ep, s.store.UpdateEndpoint(ctx, ep)
}

// Attempts returns the app's latest delivery attempts, newest first.
func (s *Service) Attempts(ctx context.Context, appID string, failedOnly bool, limit int) ([]*appwheel.DeliveryAttempt, error) {
	return s.store.Attempts(ctx, appID, failedOnly, limit)
}

// checkEvents validates an endpoint's event types, without repeats.
func checkEvents(events []string) ([]string, error) {
	var out []string
	for _, e := range events {
		e = strings.TrimSpace(e)
		if e == "" || slices.Contains(out, e) {
			continue
		}
		if !slices.Contains(appwheel.NotifyTypes, e) {
			return nil, appwheel.Errorf(appwheel.EINVALID, "unknown event type %s: want one of %s",
				appwheel.Quote(e), strings.Join(appwheel.NotifyTypes, ", "))
		}
		out = append(out, e)
	}
	return out, nil
}

// sealContext binds an endpoint's sealed secret to its row.
func sealContext(ep *appwheel.WebhookEndpoint) string {
	return ep.AppID + "/webhook_endpoint/" + ep.ID
}

// secret opens an endpoint's signing secret.
func (s *Service) secret(ep *appwheel.WebhookEndpoint) (string, error) {
	return s.box.Open(ep.SealedSecret, sealContext(ep))
}

func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
