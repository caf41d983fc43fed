package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/profile"
	"github.com/tokendesk/tokendesk/storage"
	"github.com/tokendesk/tokendesk/usecase"
)

// privateCA makes a CA and a certificate for 127.0.0.1 signed by it, as a corporate
// CA would; it returns the CA's PEM and the server's TLS certificate.
func privateCA(t *testing.T) ([]byte, tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Tokendesk Test Corp CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}
}

// TestCABundle: a provider on loopback https with a certificate from a private CA is
// trusted through config.json's ca_bundle, by identity's client (the device-code
// request reaches the provider and gets its answer) and by the discovery check of
// AddProfile alike, and refused without it.
func TestCABundle(t *testing.T) {
	caPEM, cert := privateCA(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base := "https://" + r.Host
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(map[string]any{"issuer": base, "authorization_endpoint": base + "/auth",
				"token_endpoint": base + "/token", "device_authorization_endpoint": base + "/device", "jwks_uri": base + "/jwks"})
		default:
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]any{"error": "invalid_client", "error_description": "reached over TLS"})
		}
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	defer srv.Close()
	bundle := filepath.Join(t.TempDir(), "corp-ca.pem")
	if err := os.WriteFile(bundle, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	open := func(caBundle string) *usecase.Desk {
		home := t.TempDir()
		err := storage.SaveConfig(home, &storage.Config{AllowPlaintextCache: true, CABundle: caBundle,
			Profiles: []profile.Profile{{Name: "corp", Issuer: srv.URL, ClientID: "c"}}})
		if err != nil {
			t.Fatal(err)
		}
		st, err := OpenDir(home, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return st.Desk
	}
	signIn := func(d *usecase.Desk) error {
		_, err := d.SignInWithDeviceCode(ctx, "corp", usecase.DeviceCodeOptions{OnCode: func(usecase.DeviceCode) {}})
		return err
	}
	addProfile := func(d *usecase.Desk) error {
		return d.AddProfile(ctx, profile.Profile{Name: "corp again", Issuer: srv.URL, ClientID: "c2"})
	}

	trusted := open(bundle)
	var ie *identity.Error
	if err := signIn(trusted); !errors.As(err, &ie) || ie.Code != "invalid_client" {
		t.Errorf("with ca_bundle: %v, want the provider's own invalid_client (TLS trusted)", err)
	}
	if err := addProfile(trusted); err != nil {
		t.Errorf("AddProfile with ca_bundle: %v", err)
	}

	untrusted := open("")
	if err := signIn(untrusted); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without ca_bundle: %v, want a certificate error", err)
	}
	if err := addProfile(untrusted); err == nil {
		t.Error("AddProfile trusted a private CA without ca_bundle")
	}
}

// A ca_bundle that is no PEM file, or a relative path, fails at start-up with the
// reason, not at the first sign-in.
func TestCABundleMistakes(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "ca.der")
	os.WriteFile(notPEM, []byte{0x30, 0x82, 0x01}, 0o600)
	for _, tc := range []struct{ path, says string }{
		{notPEM, "no PEM certificate"},
		{filepath.Join(t.TempDir(), "missing.pem"), "no such file"},
	} {
		home := t.TempDir()
		if err := storage.SaveConfig(home, &storage.Config{AllowPlaintextCache: true, CABundle: tc.path}); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenDir(home, nil, nil); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("ca_bundle %s: %v, want %q", tc.path, err, tc.says)
		}
	}
	err := storage.SaveConfig(t.TempDir(), &storage.Config{CABundle: "corp-ca.pem"})
	var ce *storage.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "ca_bundle") {
		t.Errorf("relative ca_bundle: %v, want a ConfigError naming ca_bundle", err)
	}
}
