package stripe

import (
	"context"
	"fmt"

	stripego "github.com/stripe/stripe-go/v85"

	"github.com/appwheel/appwheel"
)

// pageSize is how many objects listAll asks Stripe for per page: the most
// Stripe allows, so that listing everything takes as few calls as possible.
const pageSize = 100

// maxPages stops listAll from following has_more forever should a server
// keep answering it: 1000 pages of 100 is far beyond one customer's objects.
const maxPages = 1000

// page is one page of a list: what stripe-go's V1List holds after fetching.
type page[T any] struct {
	data    []T
	hasMore bool
}

// fetchPage makes one list call of op, with fn building the V1List (which
// fetches its first page on construction). Only that page is read: V1List.All
// would fetch the following pages itself, outside call's retries and counts.
func fetchPage[T any](ctx context.Context, p *Provider, op string, acct appwheel.StripeAccount, fn func(sc *stripego.Client) *stripego.V1List[T]) (page[T], error) {
	var pg page[T]
	err := p.call(ctx, op, acct, func(sc *stripego.Client) error {
		l := fn(sc)
		if err := l.Err(); err != nil {
			return err
		}
		pg = page[T]{data: l.Data(), hasMore: l.Meta().HasMore}
		return nil
	})
	return pg, err
}

// listAll fetches every page of a list, one call per page, each page
// starting after the last object of the one before. fn builds the list for a
// page given the cursor ("" for the first page); id returns an object's ID.
func listAll[T any](ctx context.Context, p *Provider, op string, acct appwheel.StripeAccount, fn func(sc *stripego.Client, startingAfter string) *stripego.V1List[T], id func(T) string) ([]T, error) {
	var all []T
	after := ""
	for range maxPages {
		pg, err := fetchPage(ctx, p, op, acct, func(sc *stripego.Client) *stripego.V1List[T] {
			return fn(sc, after)
		})
		if err != nil {
			return nil, err
		}
		all = append(all, pg.data...)
		if !pg.hasMore || len(pg.data) == 0 {
			return all, nil
		}
		next := id(pg.data[len(pg.data)-1])
		if next == after {
			return all, nil // the cursor did not move: nothing more to get
		}
		after = next
	}
	return nil, fmt.Errorf("stripe %s: more than %d pages", op, maxPages)
}

// listParams returns the paging parameters of one page of listAll.
func listParams(startingAfter string) stripego.ListParams {
	lp := stripego.ListParams{Limit: stripego.Int64(pageSize)}
	if startingAfter != "" {
		lp.StartingAfter = stripego.String(startingAfter)
	}
	return lp
}
