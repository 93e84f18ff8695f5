package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/appwheel/appwheel/billing"
)

// appsLinkCommand links one user of an app to a Stripe customer the app
// created before AppWheel, as POST /v1/stripe/customer-links does.
func appsLinkCommand() *cobra.Command {
	var (
		asJSON bool
		p      billing.LinkCustomerParams
	)
	c := &cobra.Command{
		Use:   "link APP_ID --user APP_USER_ID --customer cus_…",
		Short: "link a user of the app to an existing Stripe customer",
		Long: `Link a user of the app to a Stripe customer the app's own backend created
before AppWheel: AppWheel checks the customer exists in the app's Stripe account
and is no other user's, adds its metadata to it at Stripe, and fills the user's
mirror, so the user's cards, subscriptions and invoices show at once and the
next createPaymentMethod uses that customer. Linking the same pair again
re-syncs it.`,
		Example: `  appwheel apps link app_… --user u1 --customer cus_…`,
		Args:    oneID("apps link"),
	}
	return appsSubcommandOn(appsStripeSets, c, &asJSON, func(fs *pflag.FlagSet) {
		fs.StringVar(&p.AppUserID, "user", "", "the app's user id (appUserId) to link (required)")
		fs.StringVar(&p.CustomerID, "customer", "", "the Stripe customer (cus_…) to link it to (required)")
	}, func(cmd *cobra.Command, d *deps, args []string) error {
		if p.AppUserID == "" || p.CustomerID == "" {
			return usageErrorf("apps link needs --user and --customer")
		}
		app, err := d.apps.App(cmd.Context(), args[0])
		if err != nil {
			return cliError(err)
		}
		link, err := newBilling(d).LinkCustomer(cmd.Context(), app, p)
		if err != nil {
			return cliError(err)
		}
		if asJSON {
			return json.NewEncoder(cmd.OutOrStdout()).Encode(link)
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "user %s of %s is linked to %s\n", link.AppUserID, app.ID, link.CustomerID)
		return err
	})
}
