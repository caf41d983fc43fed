package identity

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
)

func TestParseAuthority(t *testing.T) {
	tests := []struct {
		raw           string
		kind          authorityKind
		tenant, canon string
	}{
		{"https://login.microsoftonline.com/common", kindEntra, "common", "https://login.microsoftonline.com/common/"},
		{"https://LOGIN.microsoftonline.com/Organizations/", kindEntra, "Organizations", "https://login.microsoftonline.com/Organizations/"},
		{"https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0", kindEntra, "contoso.onmicrosoft.com", "https://login.microsoftonline.com/contoso.onmicrosoft.com/"},
		{"https://login.microsoftonline.us/8eaef023-2b34-4da1-9baa-8bc8c9d6a490", kindEntra, "8eaef023-2b34-4da1-9baa-8bc8c9d6a490", "https://login.microsoftonline.us/8eaef023-2b34-4da1-9baa-8bc8c9d6a490/"},
		{"https://login.chinacloudapi.cn/consumers", kindEntra, "consumers", "https://login.chinacloudapi.cn/consumers/"},
		{"https://fabrikamb2c.b2clogin.com/fabrikamb2c.onmicrosoft.com/B2C_1_SignIn", kindB2C, "fabrikamb2c.onmicrosoft.com/B2C_1_SignIn", "https://fabrikamb2c.b2clogin.com/fabrikamb2c.onmicrosoft.com/B2C_1_SignIn/"},
		{"https://login.microsoftonline.com/tfp/fabrikamb2c.onmicrosoft.com/b2c_1_susi", kindB2C, "fabrikamb2c.onmicrosoft.com/b2c_1_susi", "https://login.microsoftonline.com/tfp/fabrikamb2c.onmicrosoft.com/b2c_1_susi/"},
		{"https://custom.example/contoso.onmicrosoft.com/b2c_1_susi", kindB2C, "contoso.onmicrosoft.com/b2c_1_susi", "https://custom.example/contoso.onmicrosoft.com/b2c_1_susi/"},
		{"https://contoso.ciamlogin.com/", kindCIAM, "contoso.onmicrosoft.com", "https://contoso.ciamlogin.com/contoso.onmicrosoft.com/"},
		{"https://contoso.ciamlogin.com/1b1b1b1b-0000-0000-0000-000000000000", kindCIAM, "1b1b1b1b-0000-0000-0000-000000000000", "https://contoso.ciamlogin.com/1b1b1b1b-0000-0000-0000-000000000000/"},
		{"https://fs.contoso.com/adfs/", kindADFS, "adfs", "https://fs.contoso.com/adfs/"},
		{"http://127.0.0.1:8080/tenant", kindEntra, "tenant", "http://127.0.0.1:8080/tenant/"},
	}
	for _, tt := range tests {
		s, err := parseAuthority(tt.raw)
		if err != nil {
			t.Errorf("%s: %v", tt.raw, err)
			continue
		}
		if s.kind != tt.kind || s.tenant != tt.tenant || s.canonical() != tt.canon {
			t.Errorf("%s: kind %v tenant %q canonical %q; want %v %q %q", tt.raw, s.kind, s.tenant, s.canonical(), tt.kind, tt.tenant, tt.canon)
		}
	}
	for _, bad := range []string{"", "login.microsoftonline.com/common", "http://login.microsoftonline.com/common",
		"https://login.microsoftonline.com", "https://x.b2clogin.com/tenant", "ftp://a/b", "https://%zz/"} {
		if _, err := parseAuthority(bad); err == nil {
			t.Errorf("%q: parsed, want an error", bad)
		}
	}
	if _, err := parseOIDCIssuer("http://idp.example.com"); err == nil {
		t.Error("plain http OIDC issuer off loopback was accepted")
	}
	if s, err := parseOIDCIssuer("https://idp.example.com/realms/x/"); err != nil || s.issuer != "https://idp.example.com/realms/x" {
		t.Errorf("OIDC issuer: %+v, %v", s, err)
	}
}

func TestConstructorSendsNothing(t *testing.T) {
	f := newFakeEntra(t)
	for _, opts := range [][]Option{
		{WithAuthority("https://login.microsoftonline.com/common")},
		{WithAuthority("https://unknown.example/tenant")},
		{WithOIDCAuthority("https://idp.example.com")},
	} {
		if _, err := NewPublicClient("client", append(opts, WithHTTPClient(f.client()))...); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.tr.seen(); len(got) != 0 {
		t.Fatalf("constructor sent %d requests", len(got))
	}
	if _, err := NewPublicClient("client", WithAuthority("https://login.microsoftonline.com")); err == nil {
		t.Error("authority without tenant accepted")
	}
	if _, err := NewPublicClient("client", WithExcludeScopes("openid")); err == nil {
		t.Error(`WithExcludeScopes("openid") accepted`)
	}
}

func TestResolveKnownEntraHost(t *testing.T) {
	f := newFakeEntra(t)
	c := fakeEntraPublic(t, f, "https://login.microsoftonline.com/contoso.onmicrosoft.com")
	ctx := context.Background()
	var wg sync.WaitGroup
	infos := make([]*authorityInfo, 8)
	for i := range infos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			info, err := c.resolveAuthority(ctx, "")
			if err != nil {
				t.Error(err)
			}
			infos[i] = info
		}()
	}
	wg.Wait()
	info := infos[0]
	if info == nil {
		t.FailNow()
	}
	if info.Type != authorityTypeMSSTS || info.Host != "login.microsoftonline.com" || info.Tenant != "contoso.onmicrosoft.com" {
		t.Errorf("info = %+v", info)
	}
	if info.TokenEndpoint != "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token" {
		t.Errorf("token endpoint %s", info.TokenEndpoint)
	}
	if !slices.Contains(info.Aliases, "login.windows.net") || !slices.Contains(info.Aliases, "sts.windows.net") {
		t.Errorf("aliases %v lack the built-in table", info.Aliases)
	}
	if n := f.count("/common/discovery/instance"); n != 0 {
		t.Errorf("instance discovery sent %d times for a known host", n)
	}
	if n := f.count("/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"); n != 1 {
		t.Errorf("discovery sent %d times by 8 concurrent callers, want 1", n)
	}
	// Another tenant of the same cloud resolves separately, and is memoized too.
	if _, err := c.resolveAuthority(ctx, "https://login.microsoftonline.com/organizations"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.resolveAuthority(ctx, "https://login.microsoftonline.com/organizations"); err != nil {
		t.Fatal(err)
	}
	if n := f.count("/organizations/v2.0/.well-known/openid-configuration"); n != 1 {
		t.Errorf("override discovery sent %d times, want 1", n)
	}
	onlyHosts(t, f.tr.seen(), "login.microsoftonline.com")
}

func TestResolveInstanceDiscovery(t *testing.T) {
	ctx := context.Background()
	t.Run("unknown host validated", func(t *testing.T) {
		f := newFakeEntra(t)
		c := fakeEntraPublic(t, f, "https://login.contoso-cloud.example/tenant")
		info, err := c.resolveAuthority(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if f.count("/common/discovery/instance") != 1 {
			t.Error("no instance discovery for an unknown host")
		}
		if !slices.Contains(info.Aliases, "alias.login.contoso-cloud.example") {
			t.Errorf("aliases %v do not come from instance discovery", info.Aliases)
		}
		onlyHosts(t, f.tr.seen(), "login.microsoftonline.com", "login.contoso-cloud.example")
	})
	t.Run("invalid instance", func(t *testing.T) {
		f := newFakeEntra(t)
		c := fakeEntraPublic(t, f, "https://evil.example/tenant")
		_, err := c.resolveAuthority(ctx, "")
		var e *Error
		if !errors.As(err, &e) || e.Code != "invalid_instance" {
			t.Fatalf("err = %v, want invalid_instance", err)
		}
	})
	for name, opt := range map[string]Option{"validate off": WithValidateAuthority(false), "discovery off": WithInstanceDiscovery(false)} {
		t.Run(name, func(t *testing.T) {
			f := newFakeEntra(t)
			c := fakeEntraPublic(t, f, "https://evil.example/tenant", opt)
			info, err := c.resolveAuthority(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			if f.count("/common/discovery/instance") != 0 {
				t.Error("instance discovery sent although turned off")
			}
			if !slices.Equal(info.Aliases, []string{"evil.example"}) {
				t.Errorf("aliases %v", info.Aliases)
			}
		})
	}
	for _, auth := range []string{"https://fs.contoso.com/adfs", "https://fab.b2clogin.com/fab.onmicrosoft.com/b2c_1_x", "https://contoso.ciamlogin.com/"} {
		t.Run(auth, func(t *testing.T) {
			f := newFakeEntra(t)
			c := fakeEntraPublic(t, f, auth)
			info, err := c.resolveAuthority(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			if f.count("/common/discovery/instance") != 0 {
				t.Error("instance discovery for an authority known to the developer")
			}
			if auth == "https://fs.contoso.com/adfs" && info.Type != authorityTypeADFS {
				t.Errorf("type %s", info.Type)
			}
		})
	}
	t.Run("tenant not found", func(t *testing.T) {
		f := newFakeEntra(t)
		c := fakeEntraPublic(t, f, "https://login.microsoftonline.com/nonexistent")
		_, err := c.resolveAuthority(ctx, "")
		var e *Error
		if !errors.As(err, &e) || e.Code != "invalid_tenant" || len(e.Codes) != 1 || e.Codes[0] != 90002 {
			t.Fatalf("err = %v, want invalid_tenant 90002", err)
		}
		// Failures are not memoized.
		_, _ = c.resolveAuthority(ctx, "")
		if n := f.count("/nonexistent/v2.0/.well-known/openid-configuration"); n != 2 {
			t.Errorf("failed discovery retried %d times, want 2 requests", n)
		}
	})
}

func TestHTTPCachePersistsDiscovery(t *testing.T) {
	f := newFakeEntra(t)
	ctx := context.Background()
	hc := NewHTTPCache()
	c := fakeEntraPublic(t, f, "https://login.contoso-cloud.example/tenant", WithHTTPCache(hc))
	if _, err := c.resolveAuthority(ctx, ""); err != nil {
		t.Fatal(err)
	}
	data, err := hc.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// A second "CLI run": a new client with the restored cache sends nothing.
	restored := NewHTTPCache()
	if err := restored.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	before := len(f.tr.seen())
	c2 := fakeEntraPublic(t, f, "https://login.contoso-cloud.example/tenant", WithHTTPCache(restored))
	if _, err := c2.resolveAuthority(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if got := len(f.tr.seen()) - before; got != 0 {
		t.Errorf("restored http cache still sent %d requests", got)
	}
	for _, bad := range [][]byte{nil, []byte("{"), []byte(`{"version":99}`)} {
		if err := restored.UnmarshalBinary(bad); err == nil {
			t.Errorf("UnmarshalBinary(%q) accepted", bad)
		}
	}
	if restored.Len() == 0 {
		t.Error("a failed UnmarshalBinary emptied the cache")
	}
}

func TestResolveWaiterOutlivesCancelledLeader(t *testing.T) {
	f := newFakeEntra(t)
	c := fakeEntraPublic(t, f, "https://login.microsoftonline.com/t1")
	spec := c.transport.spec
	// A leader whose context is already cancelled fails; a waiter with a live context
	// must not inherit that failure.
	leaderCtx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := c.transport.resolve(leaderCtx, spec); !errors.Is(err, context.Canceled) {
		t.Fatalf("leader: err = %v", err)
	}
	if _, err := c.resolveAuthority(context.Background(), ""); err != nil {
		t.Fatalf("waiter after a cancelled leader: %v", err)
	}
}
