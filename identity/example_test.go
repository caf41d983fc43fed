package identity_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/tokendesk/tokendesk/identity"
)

// The five calls most programs need (the package documentation shows them too): a
// client, its cached accounts, a silent token, an interactive sign-in when no silent
// one is possible, and signing out.
func Example_fiveCalls() {
	ctx := context.Background()
	cache := identity.NewTokenCache() // a real program persists it through a CacheHook
	app, err := identity.NewPublicClient("00000000-0000-0000-0000-000000000000",
		identity.WithAuthority("https://login.microsoftonline.com/organizations"),
		identity.WithTokenCache(cache))
	if err != nil {
		panic(err)
	}
	scopes := []string{"User.Read"}
	accounts, err := app.Accounts(ctx, "")
	if err != nil {
		panic(err)
	}
	var res identity.Result
	err = identity.ErrInteractionRequired
	if accounts.Len() > 0 {
		res, err = app.AcquireTokenSilent(ctx, scopes, accounts.At(0))
	}
	if errors.Is(err, identity.ErrInteractionRequired) {
		res, err = app.AcquireTokenInteractive(ctx, scopes) // browser + loopback redirect
	}
	if err != nil {
		fmt.Println("no token:", err)
		return
	}
	fmt.Println("token for", res.Account.Username, "until", res.ExpiresOn)
	if err := app.RemoveAccount(ctx, res.Account); err != nil {
		fmt.Println("sign-out failed:", err)
	}
}
