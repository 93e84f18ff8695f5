package storerow

import (
	"cmp"
	"slices"

	"github.com/appwheel/appwheel"
)

// ClaimedEventColumns is what a claim returns of each event: the Events
// columns, then attempts.
var ClaimedEventColumns = Events.List() + ", attempts"

// ScanClaimedEvent reads a row of ClaimedEventColumns.
func (c Codec) ScanClaimedEvent(r Row) (*appwheel.ClaimedEvent, error) {
	var attempts int
	ev, err := c.ScanEvent(rowThen{r, &attempts})
	if err != nil {
		return nil, err
	}
	return &appwheel.ClaimedEvent{Event: *ev, Attempts: attempts}, nil
}

// rowThen scans a row into the destinations Scan is given, then into more.
type rowThen struct {
	Row
	more any
}

func (r rowThen) Scan(dest ...any) error { return r.Row.Scan(append(dest, r.more)...) }

// SortClaimed puts claimed events in the order ClaimEvents promises, oldest
// received first, then by app and id: an UPDATE … RETURNING returns its
// rows in no particular order, on either database.
func SortClaimed(evs []*appwheel.ClaimedEvent) {
	slices.SortFunc(evs, func(a, b *appwheel.ClaimedEvent) int {
		return cmp.Or(a.ReceivedAt.Compare(b.ReceivedAt), cmp.Compare(a.AppID, b.AppID), cmp.Compare(a.ID, b.ID))
	})
}
