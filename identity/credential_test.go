package identity

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func selfSigned(t *testing.T, key crypto.Signer) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tokendesk test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestCertificateCredentialAssertion(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	cert := selfSigned(t, key)
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	pemData := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})...)
	certs, signer, err := ParseCertificatePEM(pemData, "")
	if err != nil {
		t.Fatal(err)
	}
	cred, err := NewCertificateCredential(certs, signer, WithX5C())
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeEntra(t)
	c, err := NewConfidentialClient("client", cred, WithAuthority("https://login.microsoftonline.com/t1"),
		WithHTTPClient(f.client()), WithClientClaims(map[string]any{"client_ip": "10.0.0.1", "exp": float64(time.Now().Add(5 * time.Minute).Unix())}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AcquireTokenForClient(context.Background(), []string{"https://graph.microsoft.com/.default"}); err != nil {
		t.Fatal(err)
	}
	form := f.lastForm()
	if form.Get("client_assertion_type") != clientAssertionType || form.Get("client_secret") != "" {
		t.Fatalf("form = %v", form)
	}
	if form.Get("scope") != "https://graph.microsoft.com/.default" {
		t.Errorf("client credentials scope %q must not be decorated", form.Get("scope"))
	}
	tok, err := jwt.ParseSigned(form.Get("client_assertion"), []jose.SignatureAlgorithm{jose.PS256})
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := tok.Claims(&key.PublicKey, &claims); err != nil {
		t.Fatalf("assertion signature: %v", err)
	}
	if claims["aud"] != "https://login.microsoftonline.com/t1/oauth2/v2.0/token" || claims["iss"] != "client" ||
		claims["sub"] != "client" || claims["jti"] == "" || claims["client_ip"] != "10.0.0.1" {
		t.Errorf("claims = %v", claims)
	}
	h := tok.Headers[0]
	sum := sha256.Sum256(cert.Raw)
	if h.ExtraHeaders["x5t#S256"] != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Errorf("x5t#S256 header = %v", h.ExtraHeaders["x5t#S256"])
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	if chains, err := h.Certificates(x509.VerifyOptions{Roots: roots}); err != nil || !chains[0][0].Equal(cert) {
		t.Errorf("x5c header does not carry the certificate: %v", err)
	}
}

func TestCredentialErrors(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaCert, ecCert := selfSigned(t, rsaKey), selfSigned(t, ecKey)
	if _, err := NewCertificateCredential([]*x509.Certificate{rsaCert}, ecKey); err == nil {
		t.Error("mismatched key and certificate accepted")
	}
	if _, err := NewCertificateCredential(nil, ecKey); err == nil {
		t.Error("no certificate accepted")
	}
	if _, err := NewCertificateCredential([]*x509.Certificate{ecCert}, ecKey); err != nil {
		t.Errorf("EC credential: %v", err)
	}
	ecDER, _ := x509.MarshalECPrivateKey(ecKey)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ecCert.Raw})
	for name, data := range map[string][]byte{
		"no key":       certPEM,
		"no cert":      pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}),
		"pkcs8 enc":    append(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), certPEM...),
		"wrong cert":   append(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rsaCert.Raw})...),
		"garbage":      []byte("not pem"),
		"corrupt cert": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2}}),
	} {
		if _, _, err := ParseCertificatePEM(data, ""); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	certs, key, err := ParseCertificatePEM(append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})...), "")
	if err != nil || len(certs) != 1 || key == nil {
		t.Errorf("EC PEM: %v", err)
	}
}

func TestAssertionCredentials(t *testing.T) {
	ctx := context.Background()
	f := newFakeEntra(t)
	var gotAud string
	callback := NewAssertionCallbackCredential(func(ctx context.Context, aud string) (string, error) {
		gotAud = aud
		return "federated-token", nil
	})
	c, err := NewConfidentialClient("client", callback, WithAuthority("https://login.microsoftonline.com/t1"), WithHTTPClient(f.client()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AcquireTokenForClient(ctx, []string{"api://x/.default"}); err != nil {
		t.Fatal(err)
	}
	if f.lastForm().Get("client_assertion") != "federated-token" || !strings.HasSuffix(gotAud, "/t1/oauth2/v2.0/token") {
		t.Errorf("callback assertion not sent (aud %q)", gotAud)
	}
	failing := NewAssertionCallbackCredential(func(context.Context, string) (string, error) { return "", errors.New("no token file") })
	c2, _ := NewConfidentialClient("client", failing, WithAuthority("https://login.microsoftonline.com/t1"), WithHTTPClient(f.client()))
	var e *Error
	if _, err := c2.AcquireTokenForClient(ctx, []string{"api://x/.default"}); !errors.As(err, &e) {
		t.Errorf("failing callback: err = %v, want *Error", err)
	}
	c3, _ := NewConfidentialClient("client", NewAssertionCredential("signed"), WithAuthority("https://login.microsoftonline.com/t1"), WithHTTPClient(f.client()))
	if _, err := c3.AcquireTokenForClient(ctx, []string{"api://x/.default"}); err != nil || f.lastForm().Get("client_assertion") != "signed" {
		t.Errorf("static assertion: %v", err)
	}
	c4, _ := NewConfidentialClient("client", NewSecretCredential("s3cret"), WithAuthority("https://login.microsoftonline.com/t1"), WithHTTPClient(f.client()))
	if _, err := c4.AcquireTokenForClient(ctx, []string{"api://x/.default"}); err != nil || f.lastForm().Get("client_secret") != "s3cret" {
		t.Errorf("secret: %v", err)
	}
	onlyHosts(t, f.tr.seen(), "login.microsoftonline.com")
}

func TestConfidentialGrants(t *testing.T) {
	ctx := context.Background()
	t.Run("client credentials cached per tenant", func(t *testing.T) {
		f := newFakeEntra(t)
		c, _ := NewConfidentialClient("client", NewSecretCredential("s"), WithAuthority("https://login.microsoftonline.com/t1"), WithHTTPClient(f.client()))
		scopes := []string{"https://graph.microsoft.com/.default"}
		first, err := c.AcquireTokenForClient(ctx, scopes)
		if err != nil {
			t.Fatal(err)
		}
		second, err := c.AcquireTokenForClient(ctx, scopes)
		if err != nil || second.Source != SourceCache || second.AccessToken != first.AccessToken {
			t.Fatalf("second call: %v, source %v", err, second.Source)
		}
		other, err := c.AcquireTokenForClient(ctx, scopes, WithRequestAuthority("https://login.microsoftonline.com/t2"))
		if err != nil || other.Source != SourceIdentityProvider {
			t.Fatalf("another tenant served from t1's cache: %v, source %v", err, other.Source)
		}
		if n := f.count("/t1/oauth2/v2.0/token") + f.count("/t2/oauth2/v2.0/token"); n != 2 {
			t.Errorf("%d token requests, want 2", n)
		}
	})
	t.Run("on behalf of cached per assertion", func(t *testing.T) {
		f := newFakeEntra(t)
		c, _ := NewConfidentialClient("client", NewSecretCredential("s"), WithAuthority("https://login.microsoftonline.com/t1"), WithHTTPClient(f.client()))
		scopes := []string{"api://downstream/read"}
		a1, err := c.AcquireTokenOnBehalfOf(ctx, "assertion-1", scopes)
		if err != nil {
			t.Fatal(err)
		}
		form := f.lastForm()
		if form.Get("grant_type") != jwtBearerGrant || form.Get("requested_token_use") != "on_behalf_of" || form.Get("assertion") != "assertion-1" {
			t.Errorf("OBO form = %v", form)
		}
		again, err := c.AcquireTokenOnBehalfOf(ctx, "assertion-1", scopes)
		if err != nil || again.Source != SourceCache || again.AccessToken != a1.AccessToken {
			t.Fatalf("same assertion not served from cache: %v, %v", err, again.Source)
		}
		other, err := c.AcquireTokenOnBehalfOf(ctx, "assertion-2", scopes)
		if err != nil || other.Source != SourceIdentityProvider {
			t.Fatalf("another assertion served from cache: %v", err)
		}
		if _, err := c.AcquireTokenOnBehalfOf(ctx, "", scopes); err == nil {
			t.Error("empty assertion accepted")
		}
	})
	t.Run("regional endpoint", func(t *testing.T) {
		f := newFakeEntra(t)
		imds := fakeIMDS(t, "westus2")
		t.Setenv("REGION_NAME", "")
		c, _ := NewConfidentialClient("client", NewSecretCredential("s"), WithAuthority("https://login.microsoftonline.com/t1"),
			WithHTTPClient(f.client()), WithAzureRegion(AutoDetectRegion), WithRegionDiscoveryEndpoint(imds))
		if _, err := c.AcquireTokenForClient(ctx, []string{"api://x/.default"}); err != nil {
			t.Fatal(err)
		}
		seen := f.tr.seen()
		if last := seen[len(seen)-1]; last != "westus2.login.microsoft.com" {
			t.Errorf("token request went to %s, want westus2.login.microsoft.com", last)
		}
		onlyHosts(t, seen, "login.microsoftonline.com", "westus2.login.microsoft.com")
		// Detected once.
		if _, err := c.AcquireTokenForClient(ctx, []string{"api://y/.default"}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("region from environment", func(t *testing.T) {
		f := newFakeEntra(t)
		t.Setenv("REGION_NAME", "East US")
		c, _ := NewConfidentialClient("client", NewSecretCredential("s"), WithAuthority("https://login.microsoftonline.us/t1"),
			WithHTTPClient(f.client()), WithAzureRegion(AutoDetectRegion), WithRegionDiscoveryEndpoint("http://127.0.0.1:1/unused"))
		if _, err := c.AcquireTokenForClient(ctx, []string{"api://x/.default"}); err != nil {
			t.Fatal(err)
		}
		seen := f.tr.seen()
		if last := seen[len(seen)-1]; last != "eastus.login.microsoftonline.us" {
			t.Errorf("token request went to %s", last)
		}
	})
	t.Run("region undetectable", func(t *testing.T) {
		f := newFakeEntra(t)
		t.Setenv("REGION_NAME", "")
		c, _ := NewConfidentialClient("client", NewSecretCredential("s"), WithAuthority("https://login.microsoftonline.com/t1"),
			WithHTTPClient(f.client()), WithAzureRegion(AutoDetectRegion), WithRegionDiscoveryEndpoint("http://127.0.0.1:1/closed"))
		if _, err := c.AcquireTokenForClient(ctx, []string{"api://x/.default"}); err != nil {
			t.Fatal(err)
		}
		onlyHosts(t, f.tr.seen(), "login.microsoftonline.com")
	})
}

// fakeIMDS serves the instance metadata location endpoint on 127.0.0.1.
func fakeIMDS(t *testing.T, region string) string {
	t.Helper()
	srv := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Metadata") != "true" {
			http.Error(w, "no Metadata header", 400)
			return
		}
		_, _ = w.Write([]byte(region + "\n"))
	}))
	u, _ := url.Parse(srv)
	u.Path = "/metadata/instance/compute/location"
	return u.String()
}
