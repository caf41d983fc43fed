package identity_test

import (
	"context"
	"fmt"
	"net/url"

	"github.com/tokendesk/tokendesk/identity"
)

// The two halves of an authorization code flow, as a web app or a custom redirect
// listener drives them: start it, send the user to AuthURI, and hand the redirect's
// query (or form_post body) back.
func ExampleClientApplication_InitiateAuthCodeFlow() {
	ctx := context.Background()
	app, err := identity.NewPublicClient("00000000-0000-0000-0000-000000000000",
		identity.WithAuthority("https://login.microsoftonline.com/organizations"))
	if err != nil {
		panic(err)
	}
	flow, err := app.InitiateAuthCodeFlow(ctx, []string{"User.Read"},
		identity.WithRedirectURI("http://localhost:8400"))
	if err != nil {
		fmt.Println("cannot start:", err)
		return
	}
	fmt.Println("open", flow.AuthURI)
	var redirect url.Values // the query the browser delivered to the redirect URI
	res, err := app.AcquireTokenByAuthCodeFlow(ctx, flow, redirect)
	if err != nil {
		fmt.Println("sign-in failed:", err)
		return
	}
	fmt.Println("signed in as", res.Account.Username)
}

// A device code sign-in for a machine without a browser.
func ExamplePublicClient_InitiateDeviceFlow() {
	ctx := context.Background()
	app, err := identity.NewPublicClient("00000000-0000-0000-0000-000000000000")
	if err != nil {
		panic(err)
	}
	flow, err := app.InitiateDeviceFlow(ctx, []string{"User.Read"})
	if err != nil {
		fmt.Println("cannot start:", err)
		return
	}
	fmt.Println(flow.Message)
	res, err := app.AcquireTokenByDeviceFlow(ctx, flow) // cancel ctx to stop polling
	if err != nil {
		fmt.Println("sign-in failed:", err)
		return
	}
	fmt.Println("signed in as", res.Account.Username)
}
