package client

import "context"

// The hosted billing page's languages (PortalSessionParams.Locale).
const (
	LocaleEnglish           = "en"
	LocaleSimplifiedChinese = "zh-CN"
)

// PortalSessionParams is createPortalSession's input: the user the billing
// page is for, where its way back sends them, and its language.
type PortalSessionParams struct {
	AppUserID string `json:"appUserId"`
	// ReturnURL is where the page's way back sends the user: an absolute
	// http(s) URL, checked as CreatePaymentMethodParams.SuccessURL is
	// (IsForbidden when the app lists allowed redirect hosts and its host is
	// not among them).
	ReturnURL string `json:"returnUrl"`
	// Locale is the page's language, LocaleEnglish or
	// LocaleSimplifiedChinese; "" means the one the user's browser prefers,
	// else English.
	Locale string `json:"locale,omitempty"`
	// IdempotencyKey, when set, makes a retry return the first result: the
	// same link, until the same ExpiresAt.
	IdempotencyKey string `json:"-"`
}

// PortalSession is createPortalSession's result. URL is a credential for
// that one user: send it to that user only (redirect their browser to it),
// and do not log it.
type PortalSession struct {
	URL string `json:"url"`
	// ExpiresAt is when the link stops opening, in Unix seconds as a
	// string: 5 minutes after it was made. The visit it starts lasts 1 hour
	// after the user's last action.
	ExpiresAt string `json:"expiresAt"`
}

// CreatePortalSession returns a link that opens AppWheel's hosted billing
// page for a user, where they see and manage their own cards,
// subscriptions and invoices. A bad AppUserID, ReturnURL or Locale is
// IsInvalid; a ReturnURL on a host the app does not allow is IsForbidden;
// a server that does not run the billing page answers IsNotFound.
func (c *Client) CreatePortalSession(ctx context.Context, p PortalSessionParams) (*PortalSession, error) {
	var out PortalSession
	if err := c.do(ctx, "POST", "/v1/stripe/portal-sessions", p, p.IdempotencyKey, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
