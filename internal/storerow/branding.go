package storerow

import (
	"encoding/json"

	"github.com/appwheel/appwheel"
)

// brandingJSON is the apps' branding column: appwheel.Branding under the
// keys the migrations name, each left out when unset, so that no branding
// is '{}', the column's default. Its fields are Branding's, so a field
// added there fails the conversions here until it is added too.
type brandingJSON struct {
	DisplayName    string   `json:"displayName,omitempty"`
	LogoURL        string   `json:"logoUrl,omitempty"`
	AccentColor    string   `json:"accentColor,omitempty"`
	FrameAncestors []string `json:"frameAncestors,omitempty"`
}

// EncodeBranding returns b as the branding column's JSON text (SQLite's
// TEXT; pgx sends it to PostgreSQL's jsonb as it is).
func EncodeBranding(b appwheel.Branding) (string, error) {
	out, err := json.Marshal(brandingJSON(b))
	return string(out), err
}

// DecodeBranding reads the branding column into *b; no frame ancestors
// read as nil, as they were written.
func DecodeBranding(raw []byte, b *appwheel.Branding) error {
	var j brandingJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return err
	}
	*b = appwheel.Branding(j)
	if len(b.FrameAncestors) == 0 {
		b.FrameAncestors = nil
	}
	return nil
}
