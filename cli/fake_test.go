package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/profile"
	"github.com/tokendesk/tokendesk/usecase"
)

// fakeDesk is a hand-written in-memory Desk: accounts, profiles and tokens in maps,
// with an error to inject per method.
type fakeDesk struct {
	accounts []usecase.AccountView
	profiles []profile.Profile
	// tokens maps an account key to the result Token returns for it.
	tokens map[string]identity.Result
	// err, when set for a method name ("Token", "SignIn", …), is returned by it.
	err map[string]error
	// device is shown to OnCode by SignInWithDeviceCode.
	device usecase.DeviceCode
	// partial makes Accounts return its accounts together with err["Accounts"], as
	// usecase does when one profile fails.
	partial bool
	// signInAs is the account SignIn and SignInWithDeviceCode add.
	signInAs usecase.AccountView

	// secrets records what SetProfileSecret kept, per profile.
	secrets map[string]string

	// imported records what ImportMSALCache was given; exported, the key
	// ExportMSALCache was asked for.
	imported []string
	exported string
	// gitHost and gitUser are GitCredential's last arguments; forgotten, the tokens
	// ForgetAccessToken was given.
	gitHost, gitUser string
	forgotten        []string
	// lastTenant is TokenInTenant's last tenant.
	lastTenant string

	calls    []string
	lastTok  tokenCall
	lastSign signInCall
}

// signInCall records the arguments of the last SignIn or SignInWithDeviceCode call.
type signInCall struct {
	Profile, LoginHint, Claims string
	AddScopes                  []string
}

// tokenCall records the arguments of the last Token call.
type tokenCall struct {
	key          string
	scopes       []string
	forceRefresh bool
}

func (f *fakeDesk) fail(method string) error {
	f.calls = append(f.calls, method)
	return f.err[method]
}

func (f *fakeDesk) Accounts(ctx context.Context) ([]usecase.AccountView, error) {
	if err := f.fail("Accounts"); err != nil && !f.partial {
		return nil, err
	} else if err != nil {
		return append([]usecase.AccountView(nil), f.accounts...), err
	}
	return append([]usecase.AccountView(nil), f.accounts...), nil
}

func (f *fakeDesk) Profiles(ctx context.Context) ([]profile.Profile, error) {
	if err := f.fail("Profiles"); err != nil {
		return nil, err
	}
	return f.profiles, nil
}

func (f *fakeDesk) SignIn(ctx context.Context, profile string, opts usecase.SignInOptions) (usecase.AccountView, error) {
	f.lastSign = signInCall{Profile: profile, LoginHint: opts.LoginHint, Claims: opts.Claims, AddScopes: opts.AddScopes}
	if err := f.fail("SignIn"); err != nil {
		return usecase.AccountView{}, err
	}
	opts.OnAuthURL("http://127.0.0.1:1/authorize")
	f.accounts = append(f.accounts, f.signInAs)
	return f.signInAs, nil
}

// SignInWithDeviceCode records no login hint or claims: a device-code sign-in takes
// neither.
func (f *fakeDesk) SignInWithDeviceCode(ctx context.Context, profile string, opts usecase.DeviceCodeOptions) (usecase.AccountView, error) {
	f.lastSign = signInCall{Profile: profile, AddScopes: opts.AddScopes}
	if err := f.fail("SignInWithDeviceCode"); err != nil {
		return usecase.AccountView{}, err
	}
	opts.OnCode(f.device)
	f.accounts = append(f.accounts, f.signInAs)
	return f.signInAs, nil
}

// FindAccount is a simplified usecase.Desk.FindAccount: key or username
// (case-insensitive) within profile, "" matching all; the fixtures never let a key
// equal another account's username, so precedence does not matter here.
func (f *fakeDesk) FindAccount(ctx context.Context, query, profile string) (usecase.AccountView, error) {
	if err := f.fail("FindAccount"); err != nil {
		return usecase.AccountView{}, err
	}
	var found []usecase.AccountView
	var keys []string
	for _, a := range f.accounts {
		inProfile := profile == "" || strings.EqualFold(a.Profile, profile)
		if inProfile && (query == "" || strings.EqualFold(a.Key, query) || strings.EqualFold(a.Username, query)) {
			found = append(found, a)
			keys = append(keys, a.Key)
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	if len(found) == 0 {
		return usecase.AccountView{}, fmt.Errorf("%w: %q", usecase.ErrNoAccount, query)
	}
	return usecase.AccountView{}, fmt.Errorf("%w: %q matches %s", usecase.ErrAmbiguousAccount, query, strings.Join(keys, ", "))
}

// Token leaves the result's Account empty, so the CLI describes the account it asked for.
func (f *fakeDesk) Token(ctx context.Context, key string, scopes []string, force bool) (identity.Result, error) {
	f.lastTok = tokenCall{key, scopes, force}
	if err := f.fail("Token"); err != nil {
		return identity.Result{}, err
	}
	t, ok := f.tokens[key]
	if !ok {
		return identity.Result{}, fmt.Errorf("fake: no token for %s", key)
	}
	t.Scopes = scopes
	return t, nil
}

func (f *fakeDesk) SignOut(ctx context.Context, key string) error {
	if err := f.fail("SignOut"); err != nil {
		return err
	}
	for i, a := range f.accounts {
		if a.Key == key {
			f.accounts = append(f.accounts[:i], f.accounts[i+1:]...)
			return nil
		}
	}
	return usecase.ErrNoAccount
}

func (f *fakeDesk) SetProfileSecret(ctx context.Context, profile, secret string) error {
	if err := f.fail("SetProfileSecret"); err != nil {
		return err
	}
	for _, p := range f.profiles {
		if strings.EqualFold(p.Name, profile) {
			if f.secrets == nil {
				f.secrets = map[string]string{}
			}
			f.secrets[p.Name] = secret
			return nil
		}
	}
	return usecase.ErrNoProfile
}

func (f *fakeDesk) called(method string) bool {
	for _, c := range f.calls {
		if c == method {
			return true
		}
	}
	return false
}

var errFakeProvider = errors.New("identity: temporarily_unavailable: try later")

// Fixed values the tests assert on. The "tokens" are fakes made for these tests.
var (
	fakeExpiry = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	alice      = usecase.AccountView{Key: "alice-key", Username: "alice@example.com", DisplayName: "Alice", TenantOrIssuer: "tenant-a", Profile: "entra"}
	alice2     = usecase.AccountView{Key: "alice-other", Username: "Alice@example.com", DisplayName: "Alice (lab)", TenantOrIssuer: "tenant-b", Profile: "lab"}
	bob        = usecase.AccountView{Key: "bob-key", Username: "bob@example.com", DisplayName: "Bob", Profile: "lab",
		Account: identity.Account{Environment: "http://127.0.0.1:9"}}
)

func newFake() *fakeDesk {
	return &fakeDesk{
		accounts: []usecase.AccountView{alice, alice2, bob},
		profiles: []profile.Profile{
			{Name: "entra", Authority: "https://login.microsoftonline.com/organizations", ClientID: "c1"},
			{Name: "lab", Issuer: "http://127.0.0.1:9", ClientID: "c2", FavouriteScopes: []string{"openid"}},
		},
		tokens: map[string]identity.Result{
			"alice-key":   {AccessToken: "fake-at-alice", TokenType: "Bearer", ExpiresOn: fakeExpiry},
			"alice-other": {AccessToken: "fake-at-alice2", TokenType: "Bearer", ExpiresOn: fakeExpiry},
			"bob-key":     {AccessToken: "fake-at-bob", TokenType: "Bearer", ExpiresOn: fakeExpiry},
		},
		device:   usecase.DeviceCode{UserCode: "WXYZ-1234", VerificationURI: "http://127.0.0.1:9/device"},
		signInAs: usecase.AccountView{Key: "carol-key", Username: "carol@example.com", Profile: "entra"},
	}
}

// invoke runs one command line against desk with the given environment variables.
func invoke(desk Desk, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	e := &env{
		stdin:  strings.NewReader(""),
		stdout: &out,
		stderr: &errb,
		getenv: func(k string) string { return vars[k] },
		desk:   desk,
	}
	code = run(context.Background(), args, e)
	return code, out.String(), errb.String()
}
