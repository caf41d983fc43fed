package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/usecase"
)

// azLoginHint is what Azure SDKs look for in az's stderr ("az login") to treat the
// credential as unavailable and let a credential chain try its next one.
const azLoginHint = "Please run 'az login' to set up an account. (This is Tokendesk standing in for Azure CLI: sign in with \"tokendesk login\", or import Azure CLI's sign-ins with \"tokendesk import --azure-cli\".)"

// IsAzName reports whether the program was started as "az" (a link named az first on
// PATH): the binary then acts as "tokendesk az", so Azure SDKs' Azure CLI credentials
// get Tokendesk's tokens.
func IsAzName(argv0 string) bool {
	name := strings.ToLower(filepath.Base(argv0))
	for _, ext := range []string{".exe", ".cmd", ".bat"} {
		name = strings.TrimSuffix(name, ext)
	}
	return name == "az"
}

// runAz stands in for the one Azure CLI command Azure SDKs run:
//
//	az account get-access-token [--resource R | --scope S] [--tenant T] [--output json]
//
// answering in az's JSON shape. When only a sign-in helps it says "Please run 'az
// login'" (the words SDKs look for) with Tokendesk's own hint, so a credential chain
// moves on. Every other az command is refused with exit 2: this is not Azure CLI.
func runAz(ctx context.Context, e *env, args []string) error {
	if len(args) >= 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		cmd, _ := findCommand("az")
		fmt.Fprintf(e.stdout, "usage: tokendesk %s\n\n%s.\n", cmd.usage, cmd.summary)
		return flag.ErrHelp
	}
	if len(args) < 2 || args[0] != "account" || args[1] != "get-access-token" {
		// The command is quoted without "az": "az login" in stderr would tell an SDK that
		// signing in helps, which it does not here.
		return usagef("tokendesk stands in only for \"az account get-access-token\", not for %q; run the real Azure CLI for that (sign in to Tokendesk with \"tokendesk login\")", strings.Join(args, " "))
	}
	fs := newFlagSet("az")
	var resource, resourceType, tenant, output, query, subscription, acctSel, profileName string
	var scopes scopeList
	fs.StringVar(&resource, "resource", "", "resource `R` of the token (its scope is R/.default)")
	fs.Var(&scopes, "scope", "scope `S` of the token; repeatable")
	fs.StringVar(&resourceType, "resource-type", "", "resource `type` as Azure CLI names them: arm, ms-graph, aad-graph, batch, data-lake, media, oss-rdbms")
	fs.StringVar(&tenant, "tenant", "", "tenant `T` to get the token in (default: the account's own)")
	fs.StringVar(&tenant, "t", "", "short for --tenant")
	fs.StringVar(&output, "output", "json", "output `format`: json, or tsv/none with --query accessToken")
	fs.StringVar(&output, "o", "json", "short for --output")
	fs.StringVar(&query, "query", "", "JMESPath `Q`; only accessToken, expiresOn, expires_on and tenant are known")
	fs.StringVar(&subscription, "subscription", "", "ignored: Tokendesk has no subscriptions")
	fs.StringVar(&acctSel, "account", "", "account `A` (key or username); default $TOKENDESK_AZ_ACCOUNT, else the only account of the default profile")
	fs.StringVar(&profileName, "profile", "", "choose among the accounts of profile `P` (default: the first profile)")
	if err := parseFlags(e, fs, args[2:]); err != nil {
		return err
	}
	if resourceType != "" {
		r, ok := azResourceTypes[resourceType]
		if !ok {
			return usagef("unknown --resource-type %q (arm, ms-graph, aad-graph, batch, data-lake, media, oss-rdbms)", resourceType)
		}
		if resource != "" {
			return usagef("--resource and --resource-type are mutually exclusive")
		}
		resource = r
	}
	if resource != "" && len(scopes) > 0 {
		return usagef("--resource and --scope are mutually exclusive")
	}
	if resource != "" {
		// As Azure CLI turns a resource into a scope.
		scopes = scopeList{strings.TrimSuffix(resource, "/") + "/.default"}
		if strings.HasSuffix(resource, "/") {
			scopes = scopeList{resource + ".default"}
		}
	}
	if len(scopes) == 0 {
		// Azure CLI's default: Azure Resource Manager.
		scopes = scopeList{"https://management.core.windows.net//.default"}
	}
	field := strings.Trim(strings.TrimSpace(query), "[]")
	switch {
	case output == "json" && query == "":
	case (output == "tsv" || output == "json" || output == "none") && isAzField(field):
	default:
		return usagef("unsupported --output %q with --query %q (use --output json, or --query accessToken --output tsv)", output, query)
	}
	if subscription != "" {
		fmt.Fprintln(e.stderr, "tokendesk az: --subscription ignored: Tokendesk has no subscriptions")
	}
	if acctSel == "" {
		acctSel = e.getenv("TOKENDESK_AZ_ACCOUNT")
	}
	acct, err := azAccount(ctx, e, acctSel, profileName, tenant)
	if err == nil {
		var res identity.Result
		res, err = e.desk.TokenInTenant(ctx, acct.Key, scopes, tenant)
		if err == nil {
			tok := issued(res, acct)
			if tenant != "" {
				tok.Tenant = tenant
			}
			if field == "" {
				return writeToken(e, outputAz, "", tok)
			}
			return writeAzField(e.stdout, field, output, tok)
		}
		err = fmt.Errorf("token for %s: %w", firstNonEmpty(acct.Username, acct.Key), err)
	}
	if errors.Is(err, identity.ErrInteractionRequired) || errors.Is(err, usecase.ErrNoAccount) {
		fmt.Fprintln(e.stderr, "ERROR: "+azLoginHint)
	}
	return err
}

// azAccount picks the account: the one named, else among the profile's accounts (the
// default profile's) the only one, or the only one in tenant.
func azAccount(ctx context.Context, e *env, sel, profileName, tenant string) (usecase.AccountView, error) {
	if profileName == "" {
		profs, err := e.desk.Profiles(ctx)
		if err != nil {
			return usecase.AccountView{}, err
		}
		if len(profs) > 0 {
			profileName = profs[0].Name // the first is the default
		}
	}
	if sel != "" {
		return e.desk.FindAccount(ctx, sel, profileName)
	}
	all, err := e.desk.Accounts(ctx)
	if err != nil && len(all) == 0 {
		return usecase.AccountView{}, err
	}
	cands := filterProfile(all, profileName)
	if len(cands) > 1 && tenant != "" {
		var in []usecase.AccountView
		for _, a := range cands {
			if strings.EqualFold(a.TenantOrIssuer, tenant) {
				in = append(in, a)
			}
		}
		if len(in) > 0 {
			cands = in
		}
	}
	switch len(cands) {
	case 0:
		return usecase.AccountView{}, fmt.Errorf("%w: nobody is signed in with profile %q", usecase.ErrNoAccount, profileName)
	case 1:
		return cands[0], nil
	}
	keys := make([]string, len(cands))
	for i, a := range cands {
		keys[i] = a.Key
	}
	return usecase.AccountView{}, fmt.Errorf("%w: %s; choose one with --account or TOKENDESK_AZ_ACCOUNT", usecase.ErrAmbiguousAccount, strings.Join(keys, ", "))
}

// azResourceTypes are Azure CLI's --resource-type names for the public cloud.
var azResourceTypes = map[string]string{
	"arm":       "https://management.core.windows.net/",
	"ms-graph":  "https://graph.microsoft.com/",
	"aad-graph": "https://graph.windows.net/",
	"batch":     "https://batch.core.windows.net/",
	"data-lake": "https://datalake.azure.net/",
	"media":     "https://rest.media.azure.net",
	"oss-rdbms": "https://ossrdbms-aad.database.windows.net",
}

func isAzField(f string) bool {
	switch f {
	case "accessToken", "expiresOn", "expires_on", "tenant", "tokenType":
		return true
	}
	return false
}

// writeAzField prints one field of az's answer, as --query FIELD does: bare in tsv, a
// JSON string in json.
func writeAzField(w io.Writer, field, output string, tok token) error {
	var v string
	switch field {
	case "accessToken":
		v = tok.AccessToken
	case "expiresOn":
		v = tok.ExpiresOn.Local().Format(azTimeLayout)
	case "expires_on":
		v = fmt.Sprint(tok.ExpiresOn.Unix())
	case "tenant":
		v = tok.Tenant
	case "tokenType":
		v = firstNonEmpty(tok.TokenType, "Bearer")
	}
	switch output {
	case "none":
		return nil
	case "json":
		if field == "expires_on" {
			_, err := fmt.Fprintln(w, v)
			return err
		}
		_, err := fmt.Fprintf(w, "%q\n", v)
		return err
	}
	_, err := fmt.Fprintln(w, v)
	return err
}
