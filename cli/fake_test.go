package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// fakeService is a hand-written in-memory service: accounts, profiles and tokens in
// maps, with an error to inject per method.
type fakeService struct {
	accounts []account
	profiles []profileRow
	// tokens maps an account key to the token Token returns for it.
	tokens map[string]token
	// err, when set for a method name ("Token", "SignIn", …), is returned by it.
	err map[string]error
	// device is shown to OnDeviceCode by SignInWithDeviceCode.
	device deviceCode
	// partial makes Accounts return its accounts together with err["Accounts"], as
	// usecase does when one profile fails.
	partial bool
	// signInAs is the account SignIn and SignInWithDeviceCode add.
	signInAs account

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
	lastSign loginRequest
}

// tokenCall records the arguments of the last Token call.
type tokenCall struct {
	key          string
	scopes       []string
	forceRefresh bool
}

func (f *fakeService) fail(method string) error {
	f.calls = append(f.calls, method)
	return f.err[method]
}

func (f *fakeService) Accounts(ctx context.Context) ([]account, error) {
	if err := f.fail("Accounts"); err != nil && !f.partial {
		return nil, err
	} else if err != nil {
		return append([]account(nil), f.accounts...), err
	}
	return append([]account(nil), f.accounts...), nil
}

func (f *fakeService) Profiles(ctx context.Context) ([]profileRow, error) {
	if err := f.fail("Profiles"); err != nil {
		return nil, err
	}
	return f.profiles, nil
}

func (f *fakeService) SignIn(ctx context.Context, req loginRequest) (account, error) {
	f.lastSign = req
	if err := f.fail("SignIn"); err != nil {
		return account{}, err
	}
	req.OnURL("http://127.0.0.1:1/authorize")
	f.accounts = append(f.accounts, f.signInAs)
	return f.signInAs, nil
}

func (f *fakeService) SignInWithDeviceCode(ctx context.Context, req loginRequest) (account, error) {
	f.lastSign = req
	if err := f.fail("SignInWithDeviceCode"); err != nil {
		return account{}, err
	}
	req.OnDeviceCode(f.device)
	f.accounts = append(f.accounts, f.signInAs)
	return f.signInAs, nil
}

// FindAccount is a simplified usecase.Desk.FindAccount: key or username
// (case-insensitive) within profile, "" matching all; the fixtures never let a key
// equal another account's username, so precedence does not matter here.
func (f *fakeService) FindAccount(ctx context.Context, query, profile string) (account, error) {
	if err := f.fail("FindAccount"); err != nil {
		return account{}, err
	}
	var found []account
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
		return account{}, fmt.Errorf("%w: %q", errNoSuchAccount, query)
	}
	return account{}, fmt.Errorf("%w: %q matches %s", errAmbiguousAccount, query, strings.Join(keys, ", "))
}

func (f *fakeService) Token(ctx context.Context, key string, scopes []string, force bool) (token, error) {
	f.lastTok = tokenCall{key, scopes, force}
	if err := f.fail("Token"); err != nil {
		return token{}, err
	}
	t, ok := f.tokens[key]
	if !ok {
		return token{}, fmt.Errorf("fake: no token for %s", key)
	}
	for _, a := range f.accounts {
		if a.Key == key {
			t.Account = a
		}
	}
	t.Scopes = scopes
	return t, nil
}

func (f *fakeService) SignOut(ctx context.Context, key string) error {
	if err := f.fail("SignOut"); err != nil {
		return err
	}
	for i, a := range f.accounts {
		if a.Key == key {
			f.accounts = append(f.accounts[:i], f.accounts[i+1:]...)
			return nil
		}
	}
	return errNoSuchAccount
}

func (f *fakeService) SetProfileSecret(ctx context.Context, profile, secret string) error {
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
	return errNoSuchProfile
}

func (f *fakeService) called(method string) bool {
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
	alice      = account{Key: "alice-key", Username: "alice@example.com", Name: "Alice", Tenant: "tenant-a", Profile: "entra"}
	alice2     = account{Key: "alice-other", Username: "Alice@example.com", Name: "Alice (lab)", Tenant: "tenant-b", Profile: "lab"}
	bob        = account{Key: "bob-key", Username: "bob@example.com", Name: "Bob", Authority: "http://127.0.0.1:9", Profile: "lab"}
)

func newFake() *fakeService {
	return &fakeService{
		accounts: []account{alice, alice2, bob},
		profiles: []profileRow{
			{Name: "entra", Authority: "https://login.microsoftonline.com/organizations", ClientID: "c1", Default: true},
			{Name: "lab", Authority: "http://127.0.0.1:9", ClientID: "c2", Scopes: []string{"openid"}},
		},
		tokens: map[string]token{
			"alice-key":   {AccessToken: "fake-at-alice", TokenType: "Bearer", ExpiresOn: fakeExpiry},
			"alice-other": {AccessToken: "fake-at-alice2", TokenType: "Bearer", ExpiresOn: fakeExpiry},
			"bob-key":     {AccessToken: "fake-at-bob", TokenType: "Bearer", ExpiresOn: fakeExpiry},
		},
		device:   deviceCode{UserCode: "WXYZ-1234", VerificationURI: "http://127.0.0.1:9/device"},
		signInAs: account{Key: "carol-key", Username: "carol@example.com", Profile: "entra"},
	}
}

// invoke runs one command line against svc with the given environment variables.
func invoke(svc service, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	e := &env{
		stdin:  strings.NewReader(""),
		stdout: &out,
		stderr: &errb,
		getenv: func(k string) string { return vars[k] },
		svc:    svc,
	}
	code = run(context.Background(), args, e)
	return code, out.String(), errb.String()
}
