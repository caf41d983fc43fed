package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/usecase"
)

// DefaultTokenTimeout bounds "tokendesk token" unless --timeout says otherwise: kubectl
// and scripts wait for it, so a stalled provider must end in an error, not a hang.
const DefaultTokenTimeout = 30 * time.Second

// Output shapes of "tokendesk token".
const (
	outputToken          = "token"
	outputJSON           = "json"
	outputAz             = "az"
	outputExecCredential = "exec-credential"
)

// ExecCredential API versions kubectl speaks (client.authentication.k8s.io).
const (
	execCredentialV1      = "client.authentication.k8s.io/v1"
	execCredentialV1beta1 = "client.authentication.k8s.io/v1beta1"
)

// azTimeLayout is how "az account get-access-token" writes expiresOn: local time,
// microseconds, no zone.
const azTimeLayout = "2006-01-02 15:04:05.000000"

// scopeList is a repeatable --scope flag; each value may also hold several
// space-separated scopes, as OAuth's scope parameter does.
type scopeList []string

func (s *scopeList) String() string { return strings.Join(*s, " ") }

func (s *scopeList) Set(v string) error {
	fields := strings.Fields(v)
	if len(fields) == 0 {
		return fmt.Errorf("empty scope")
	}
	for _, f := range fields {
		if !contains(*s, f) {
			*s = append(*s, f)
		}
	}
	return nil
}

func runToken(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("token")
	var scopes scopeList
	fs.Var(&scopes, "scope", "scope `S` to request; repeat the flag or separate scopes with spaces (required)")
	acctSel := fs.String("account", "", "account `A`: a key or username from \"tokendesk accounts\" (default: the only account)")
	profileName := fs.String("profile", "", "choose among the accounts of profile `P`")
	output := fs.String("output", outputToken, "output `shape`: token (bare), json, az (az account get-access-token) or exec-credential (kubectl)")
	force := fs.Bool("force-refresh", false, "skip the cached access token and redeem the refresh token")
	timeout := fs.Duration("timeout", DefaultTokenTimeout, "give up after `D` (such as 10s or 1m): waiting for another process's refresh of the account, and for the provider")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return usagef("--timeout must be positive, got %s", *timeout)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if len(scopes) == 0 {
		return usagef("--scope is required")
	}
	var (
		execVersion string
		err         error
	)
	switch *output {
	case outputToken, outputJSON, outputAz:
	case outputExecCredential:
		if execVersion, err = execCredentialVersion(e.getenv("KUBERNETES_EXEC_INFO")); err != nil {
			return err
		}
	default:
		return usagef("unknown --output %q (want token, json, az or exec-credential)", *output)
	}
	if *profileName != "" {
		if err := checkProfile(ctx, e, *profileName); err != nil {
			return err
		}
	}
	// Without --account the query is empty, which matches the only account there is
	// (within --profile); several are an ambiguity the user must resolve, because
	// guessing would hand out the wrong identity's token.
	acct, err := e.desk.FindAccount(ctx, *acctSel, *profileName)
	if err != nil {
		return err
	}
	res, err := e.desk.Token(ctx, acct.Key, scopes, *force)
	switch {
	case err == nil:
	case loginCommand(err) != "":
		return err
	case errors.Is(err, identity.ErrInteractionRequired):
		// The Desk said so without naming the account: the hint still can.
		return &signInNeeded{err: fmt.Errorf("%s must sign in again: %w", firstNonEmpty(acct.Username, acct.Key), err),
			profile: acct.Profile, username: acct.Username, scopes: scopes}
	default:
		// The Desk's error names the account and scope already.
		return err
	}
	return writeToken(e, *output, execVersion, issued(res, acct))
}

// token is an access token and what the output shapes say about its account.
type token struct {
	AccessToken string
	TokenType   string
	ExpiresOn   time.Time
	Scopes      []string
	// Key, Username and Tenant are the account's, as "tokendesk accounts" shows them.
	Key, Username, Tenant string
}

// issued describes res for the output shapes: the account the token was issued to,
// else acct, the account it was asked for.
func issued(res identity.Result, acct usecase.AccountView) token {
	t := token{AccessToken: res.AccessToken, TokenType: res.TokenType, ExpiresOn: res.ExpiresOn, Scopes: res.Scopes,
		Key: acct.Key, Username: acct.Username, Tenant: acct.TenantOrIssuer}
	if a := res.Account; a.HomeAccountID != "" {
		t.Key, t.Username, t.Tenant = usecase.AccountKey(a), a.Username, tenantOf(a)
	}
	return t
}

// tenantOf is what az calls the tenant: the realm, except that an account signed in at
// a common authority by MSAL Python (Azure CLI) has the realm "organizations" or
// "common", which is no tenant; its home tenant is.
func tenantOf(a identity.Account) string {
	switch strings.ToLower(a.Realm) {
	case "", "common", "organizations", "consumers":
		if _, utid, ok := strings.Cut(a.HomeAccountID, "."); ok {
			return utid
		}
	}
	return a.Realm
}

// signInNeeded is an error only a new sign-in fixes (exit code 3) that did not come as
// a *usecase.SignInNeededError, with what the hint needs to name the exact command.
type signInNeeded struct {
	err      error
	profile  string
	username string
	scopes   []string
	claims   string // a claims challenge the sign-in must carry
}

func (e *signInNeeded) Error() string { return e.err.Error() }
func (e *signInNeeded) Unwrap() []error {
	return []error{e.err, identity.ErrInteractionRequired}
}

// loginCommand is the login command line that fixes err, or "" when err does not say
// who must sign in for what.
func loginCommand(err error) string {
	var own *signInNeeded
	var need *usecase.SignInNeededError
	switch {
	case errors.As(err, &own):
		return own.command()
	case errors.As(err, &need):
		return (&signInNeeded{profile: need.Account.Profile, username: need.Account.Username,
			scopes: need.Scopes, claims: need.Claims}).command()
	}
	return ""
}

// command is the login command line that fixes e.
func (e *signInNeeded) command() string {
	var b strings.Builder
	b.WriteString("tokendesk login")
	if e.profile != "" {
		b.WriteString(" --profile " + shellQuote(e.profile))
	}
	if e.username != "" {
		b.WriteString(" --login-hint " + shellQuote(e.username))
	}
	for _, s := range e.scopes {
		b.WriteString(" --scope " + shellQuote(s))
	}
	if e.claims != "" {
		b.WriteString(" --claims " + shellQuote(e.claims))
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell when it holds anything but safe characters.
func shellQuote(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./_-", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// writeToken prints tok in the chosen shape. It is the only place a token is written.
func writeToken(e *env, output, execVersion string, tok token) error {
	switch output {
	case outputJSON:
		return writeJSON(e, jsonToken{
			AccessToken: tok.AccessToken,
			TokenType:   tok.TokenType,
			ExpiresOn:   tok.ExpiresOn.UTC().Format(time.RFC3339),
			Scopes:      tok.Scopes,
			Account:     tok.Key,
			Username:    tok.Username,
			Tenant:      tok.Tenant,
		})
	case outputAz:
		return writeJSON(e, azToken{
			AccessToken: tok.AccessToken,
			ExpiresOn:   tok.ExpiresOn.Local().Format(azTimeLayout),
			ExpiresOnTS: tok.ExpiresOn.Unix(),
			Tenant:      tok.Tenant,
			TokenType:   firstNonEmpty(tok.TokenType, "Bearer"),
		})
	case outputExecCredential:
		return writeJSON(e, execCredential{
			APIVersion: execVersion,
			Kind:       "ExecCredential",
			Status: execCredentialStatus{
				Token:               tok.AccessToken,
				ExpirationTimestamp: execExpiry(tok.ExpiresOn),
			},
		})
	default:
		_, err := fmt.Fprintln(e.stdout, tok.AccessToken)
		return err
	}
}

// jsonToken is --output json: everything a script may want, in one object.
type jsonToken struct {
	AccessToken string   `json:"accessToken"`
	TokenType   string   `json:"tokenType"`
	ExpiresOn   string   `json:"expiresOn"` // RFC 3339, UTC
	Scopes      []string `json:"scopes"`
	Account     string   `json:"account"`
	Username    string   `json:"username,omitempty"`
	Tenant      string   `json:"tenant,omitempty"`
}

// azToken is the shape of "az account get-access-token", so tools that shell out to
// the Azure CLI (azure-identity's AzureCliCredential among them) can read it. The
// subscription field is left out: Tokendesk has no subscriptions.
type azToken struct {
	AccessToken string `json:"accessToken"`
	ExpiresOn   string `json:"expiresOn"`
	ExpiresOnTS int64  `json:"expires_on"`
	Tenant      string `json:"tenant"`
	TokenType   string `json:"tokenType"`
}

// execCredential is kubectl's client.authentication.k8s.io ExecCredential (v1 or
// v1beta1: the status fields are the same), so Tokendesk works as a credential plugin.
type execCredential struct {
	APIVersion string               `json:"apiVersion"`
	Kind       string               `json:"kind"`
	Status     execCredentialStatus `json:"status"`
}

type execCredentialStatus struct {
	// ExpirationTimestamp is optional in the schema; without it kubectl asks again on
	// every call instead of caching, which is right for an unknown expiry.
	ExpirationTimestamp string `json:"expirationTimestamp,omitempty"`
	Token               string `json:"token"`
}

// execExpiry formats t as metav1.Time does (RFC 3339, seconds, UTC); "" when unknown.
func execExpiry(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// execCredentialVersion picks the ExecCredential apiVersion: the one kubectl asks for
// in KUBERNETES_EXEC_INFO, else v1.
func execCredentialVersion(info string) (string, error) {
	if strings.TrimSpace(info) == "" {
		return execCredentialV1, nil
	}
	var req struct {
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal([]byte(info), &req); err != nil {
		return "", usagef("KUBERNETES_EXEC_INFO is not JSON: %v", err)
	}
	switch req.APIVersion {
	case "", execCredentialV1:
		return execCredentialV1, nil
	case execCredentialV1beta1:
		return execCredentialV1beta1, nil
	default:
		return "", usagef("KUBERNETES_EXEC_INFO asks for %q; supported: %s, %s", req.APIVersion, execCredentialV1, execCredentialV1beta1)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
