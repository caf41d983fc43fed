package usecase

import (
	"context"
	"os"
	"testing"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/internal/testenv"
	"github.com/tokendesk/tokendesk/profile"
)

// azureCLIProfile is the default profile's registration: Azure CLI's client id.
var azureCLIProfile = profile.Profile{Name: "Microsoft Entra (default)", Authority: "https://login.microsoftonline.com/organizations", ClientID: AzureCLIClientID}

// TestImportMSALCache imports a cache in which one account's refresh token is Azure
// CLI's and another's is another app's (Visual Studio's client id), through the real
// identity client, whose authority resolution goes to the loopback Entra stand-in.
func TestImportMSALCache(t *testing.T) {
	ctx := context.Background()
	data, err := os.ReadFile("testdata/azure_cli_two_clients.json")
	if err != nil {
		t.Fatal(err)
	}
	entra := testenv.NewEntra(t)
	for _, tc := range []struct {
		name          string
		profiles      []profile.Profile
		wantListed    []string
		wantUnlisted  []string
		wantSkipped   int
		wantAddedSome bool
	}{
		{"default profile", []profile.Profile{azureCLIProfile}, []string{"dana@contoso.example"}, nil, 1, true},
		{"no profile uses the client id", []profile.Profile{{Name: "Other", Authority: azureCLIProfile.Authority, ClientID: "11111111-1111-1111-1111-111111111111"}},
			nil, nil, 2, false},
		// The client id matches, but the profile's authority is another cloud: the
		// account is imported, and the user is told no profile lists it.
		{"another cloud", []profile.Profile{{Name: "US Gov", Authority: "https://login.microsoftonline.us/organizations", ClientID: AzureCLIClientID}},
			nil, []string{"dana@contoso.example"}, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache := identity.NewTokenCache()
			d, err := New(Deps{Config: NewMemoryConfig(tc.profiles...), Cache: cache, HTTPClient: entra.Client()})
			if err != nil {
				t.Fatal(err)
			}
			changes := 0
			d.Subscribe(func() { changes++ })
			res, err := d.ImportMSALCache(ctx, data)
			if err != nil {
				t.Fatal(err)
			}
			var listed []string
			for _, a := range res.Accounts {
				listed = append(listed, a.Username)
				if a.Profile != tc.profiles[0].Name || a.Status != StatusExpiredRefreshable {
					t.Errorf("imported %s: profile %q, status %v", a.Username, a.Profile, a.Status)
				}
			}
			if !equal(listed, tc.wantListed) || !equal(res.Unlisted, tc.wantUnlisted) {
				t.Errorf("listed %v unlisted %v; want %v and %v", listed, res.Unlisted, tc.wantListed, tc.wantUnlisted)
			}
			skipped := 0
			for _, n := range res.SkippedClients {
				skipped += n
			}
			if skipped != tc.wantSkipped || (res.Added > 0) != tc.wantAddedSome || (changes > 0) != tc.wantAddedSome {
				t.Errorf("skipped %d (%v), added %d, %d change notices", skipped, res.SkippedClients, res.Added, changes)
			}
			again, err := d.ImportMSALCache(ctx, data)
			if err != nil || again.Added+again.Updated != 0 || again.Unchanged != res.Added {
				t.Errorf("second import: %+v, %v", again, err)
			}
		})
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
