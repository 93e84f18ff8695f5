package appwheel_test

import (
	"slices"
	"testing"

	"github.com/appwheel/appwheel"
	"github.com/google/go-cmp/cmp"
)

func TestFoldStatusHistory(t *testing.T) {
	type obs = appwheel.StatusObservation
	type changes = []appwheel.StatusChange
	tests := []struct {
		name string
		obs  []obs
		want map[string]changes
	}{
		{
			name: "none",
			want: map[string]changes{},
		},
		{
			name: "one",
			obs:  []obs{{"sub_1", "active", 100}},
			want: map[string]changes{"sub_1": {{Status: "active", At: 100}}},
		},
		{
			name: "changes in order",
			obs: []obs{
				{"sub_1", "active", 100}, {"sub_1", "past_due", 200},
				{"sub_1", "active", 300}, {"sub_1", "canceled", 400},
			},
			want: map[string]changes{"sub_1": {
				{Status: "active", At: 100}, {Status: "past_due", At: 200},
				{Status: "active", At: 300}, {Status: "canceled", At: 400},
			}},
		},
		{
			name: "repeats folded",
			obs: []obs{
				{"sub_1", "active", 100}, {"sub_1", "active", 150},
				{"sub_1", "past_due", 200}, {"sub_1", "past_due", 250},
				{"sub_1", "active", 300}, {"sub_1", "active", 350},
			},
			want: map[string]changes{"sub_1": {
				{Status: "active", At: 100}, {Status: "past_due", At: 200}, {Status: "active", At: 300},
			}},
		},
		{
			name: "any order",
			obs: []obs{
				{"sub_1", "canceled", 400}, {"sub_1", "active", 300},
				{"sub_1", "active", 100}, {"sub_1", "past_due", 200},
			},
			want: map[string]changes{"sub_1": {
				{Status: "active", At: 100}, {Status: "past_due", At: 200},
				{Status: "active", At: 300}, {Status: "canceled", At: 400},
			}},
		},
		{
			// A late past_due@2 between active@1 and active@3 shows the
			// return to active at 3.
			name: "late observation",
			obs:  []obs{{"sub_1", "active", 1}, {"sub_1", "active", 3}, {"sub_1", "past_due", 2}},
			want: map[string]changes{"sub_1": {
				{Status: "active", At: 1}, {Status: "past_due", At: 2}, {Status: "active", At: 3},
			}},
		},
		{
			name: "first version tie in status order",
			obs:  []obs{{"sub_1", "trialing", 100}, {"sub_1", "incomplete", 100}},
			want: map[string]changes{"sub_1": {
				{Status: "incomplete", At: 100}, {Status: "trialing", At: 100},
			}},
		},
		{
			// The status in force comes first in a tie: active, then
			// trialing, not a change to active it does not force.
			name: "tie with the status in force",
			obs: []obs{
				{"sub_1", "trialing", 100},
				{"sub_1", "active", 200}, {"sub_1", "trialing", 200},
			},
			want: map[string]changes{"sub_1": {
				{Status: "trialing", At: 100}, {Status: "active", At: 200},
			}},
		},
		{
			name: "tie without the status in force in status order",
			obs: []obs{
				{"sub_1", "active", 100},
				{"sub_1", "unpaid", 200}, {"sub_1", "past_due", 200},
			},
			want: map[string]changes{"sub_1": {
				{Status: "active", At: 100}, {Status: "past_due", At: 200}, {Status: "unpaid", At: 200},
			}},
		},
		{
			name: "subscriptions apart",
			obs: []obs{
				{"sub_2", "active", 200}, {"sub_1", "active", 100},
				{"sub_2", "trialing", 100}, {"sub_1", "active", 200},
			},
			want: map[string]changes{
				"sub_1": {{Status: "active", At: 100}},
				"sub_2": {{Status: "trialing", At: 100}, {Status: "active", At: 200}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.obs)
			got := appwheel.FoldStatusHistory(in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FoldStatusHistory(%v) mismatch (-want +got):\n%s", tt.obs, diff)
			}
			if !slices.Equal(in, tt.obs) {
				t.Errorf("FoldStatusHistory changed its argument: got %v, want %v", in, tt.obs)
			}
		})
	}
}
