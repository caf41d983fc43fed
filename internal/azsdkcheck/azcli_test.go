package azsdkcheck

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// next is the credential after Azure CLI's in a chain.
type next struct{}

func (next) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "from-the-next-credential", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TestAzureCLICredential runs only when the cli package's test prepared it:
//
//	TOKENDESK_AZSDKCHECK=token   AzureCLICredential must get TOKENDESK_AZSDKCHECK_TOKEN,
//	                             expiring at TOKENDESK_AZSDKCHECK_EXPIRES (epoch seconds),
//	                             for TOKENDESK_AZSDKCHECK_SCOPE
//	TOKENDESK_AZSDKCHECK=nobody  nobody is signed in: AzureCLICredential says "az login",
//	                             and DefaultAzureCredential's developer chain moves on
func TestAzureCLICredential(t *testing.T) {
	mode := os.Getenv("TOKENDESK_AZSDKCHECK")
	if mode == "" {
		t.Skip("run by the tokendesk cli package's TestAzureSDKForGoThroughAzLinkBinary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	scope := os.Getenv("TOKENDESK_AZSDKCHECK_SCOPE")
	opts := policy.TokenRequestOptions{Scopes: []string{scope}}
	cli, err := azidentity.NewAzureCLICredential(nil)
	if err != nil {
		t.Fatal(err)
	}
	switch mode {
	case "token":
		tok, err := cli.GetToken(ctx, opts)
		if err != nil {
			t.Fatalf("AzureCLICredential: %v", err)
		}
		want, _ := strconv.ParseInt(os.Getenv("TOKENDESK_AZSDKCHECK_EXPIRES"), 10, 64)
		if tok.Token != os.Getenv("TOKENDESK_AZSDKCHECK_TOKEN") || tok.ExpiresOn.Unix() != want {
			t.Fatalf("AzureCLICredential got another token (same: %v), expiring %v, want %d",
				tok.Token == os.Getenv("TOKENDESK_AZSDKCHECK_TOKEN"), tok.ExpiresOn.Unix(), want)
		}
	case "nobody":
		_, err := cli.GetToken(ctx, opts)
		if err == nil || !strings.Contains(err.Error(), "az login") {
			t.Fatalf("AzureCLICredential with nobody signed in: %v; want an error saying az login", err)
		}
		// The Go SDK's own chain (AZURE_TOKEN_CREDENTIALS=dev: the CLI credentials only,
		// no managed-identity probe off this machine) gives up on az and moves on.
		dac, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			t.Fatal(err)
		}
		chain, err := azidentity.NewChainedTokenCredential([]azcore.TokenCredential{dac, next{}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := chain.GetToken(ctx, opts)
		if err != nil || tok.Token != "from-the-next-credential" {
			t.Fatalf("the chain did not move on: %v", err)
		}
	default:
		t.Fatalf("unknown TOKENDESK_AZSDKCHECK=%q", mode)
	}
}
