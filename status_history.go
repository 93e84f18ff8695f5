package appwheel

import (
	"cmp"
	"slices"
)

// StatusObservation is one subscription status as a MirrorStore recorded
// it: the status a snapshot of the subscription held, at the snapshot's
// version.
type StatusObservation struct {
	SubscriptionID string
	Status         string
	At             int64 // the version it was observed at: Unix microseconds
}

// FoldStatusHistory folds status observations, in any order, into each
// subscription's status changes for MirrorStore.StatusHistory, oldest
// first: its first observed status, then each observation whose status
// differs from the one in force before it. Subscriptions with no
// observation are absent from the map, which is never nil.
//
// Observations with the same version have no order of their own. They are
// taken in status order (byte-wise), except that one repeating the status
// in force comes first, so a tie shows no change that the observations do
// not force.
func FoldStatusHistory(obs []StatusObservation) map[string][]StatusChange {
	obs = slices.Clone(obs)
	slices.SortFunc(obs, func(a, b StatusObservation) int {
		return cmp.Or(
			cmp.Compare(a.SubscriptionID, b.SubscriptionID),
			cmp.Compare(a.At, b.At),
			cmp.Compare(a.Status, b.Status),
		)
	})
	history := make(map[string][]StatusChange)
	// Walk each run of observations of one subscription at one version.
	for i := 0; i < len(obs); {
		j := i + 1
		for j < len(obs) && obs[j].SubscriptionID == obs[i].SubscriptionID && obs[j].At == obs[i].At {
			j++
		}
		changes := history[obs[i].SubscriptionID]
		if n := len(changes); n > 0 {
			// Move the status in force to the front of the run.
			for k := i; k < j; k++ {
				if obs[k].Status == changes[n-1].Status {
					for ; k > i; k-- {
						obs[k], obs[k-1] = obs[k-1], obs[k]
					}
					break
				}
			}
		}
		for _, o := range obs[i:j] {
			if n := len(changes); n == 0 || changes[n-1].Status != o.Status {
				changes = append(changes, StatusChange{Status: o.Status, At: o.At})
			}
		}
		history[obs[i].SubscriptionID] = changes
		i = j
	}
	return history
}
