package http

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
)

// handleStartCustomerImport is startCustomerImport: POST
// /v1/stripe/customer-imports {"metadataKey"} or {"pairs"}, with "dryRun":
// links the app's existing Stripe customers to its users, as linkCustomer
// links one, in the server's background jobs. Starting the same import
// again while it is unfinished resumes it; the answer is its status.
func (s *Server) handleStartCustomerImport(ctx context.Context, r *http.Request, c *call) (any, error) {
	var req struct {
		MetadataKey string          `json:"metadataKey"`
		Pairs       json.RawMessage `json:"pairs"`
		DryRun      bool            `json:"dryRun"`
	}
	if _, err := query(r); err != nil {
		return nil, err
	}
	if err := decodeJSON(c.body, &req); err != nil {
		return nil, err
	}
	pairs, err := importPairs(req.Pairs)
	if err != nil {
		return nil, err
	}
	return s.billing.StartImport(ctx, c.app, billing.ImportParams{
		MetadataKey: req.MetadataKey,
		Pairs:       pairs,
		DryRun:      req.DryRun,
		Background:  true,
	})
}

// handleCustomerImportStatus is customerImportStatus: GET
// /v1/stripe/customer-imports/latest, the app's latest import (1004 when it
// has none).
func (s *Server) handleCustomerImportStatus(ctx context.Context, r *http.Request, c *call) (any, error) {
	if _, err := query(r); err != nil {
		return nil, err
	}
	return s.billing.ImportStatus(ctx, c.app)
}

// importPairs decodes the pairs of a startCustomerImport body as strictly as
// decodeJSON does the body: an array of {"appUserId","customerId"} objects,
// both fields given, no others. What the ids are worth is for the import to
// find out: one that cannot be linked is skipped, with the reason.
func importPairs(raw json.RawMessage) ([]billing.ImportPair, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var items []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
		return nil, appwheel.Errorf(appwheel.EINVALID, `parameter pairs must be an array of {"appUserId","customerId"} objects`)
	}
	pairs := make([]billing.ImportPair, len(items))
	for i, item := range items {
		item = bytes.TrimSpace(item)
		if len(item) == 0 || item[0] != '{' {
			return nil, appwheel.Errorf(appwheel.EINVALID, `pairs[%d] must be an object {"appUserId","customerId"}`, i)
		}
		if err := decodeJSON(item, &pairs[i]); err != nil {
			return nil, appwheel.Errorf(appwheel.EINVALID, "pairs[%d]: %s", i, appwheel.ErrorMessage(err))
		}
		switch {
		case pairs[i].AppUserID == "":
			return nil, appwheel.Errorf(appwheel.EINVALID, "pairs[%d]: appUserId is required", i)
		case pairs[i].CustomerID == "":
			return nil, appwheel.Errorf(appwheel.EINVALID, "pairs[%d]: customerId is required", i)
		}
	}
	return pairs, nil
}
