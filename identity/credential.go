package identity

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// clientAssertionType is RFC 7523's client assertion type.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLifetime is how long a signed client assertion is valid (MSAL: 10 min).
const assertionLifetime = 10 * time.Minute

// Credential authenticates a confidential client (MSAL: client_credential=). Build one
// with NewSecretCredential, NewCertificateCredential, NewAssertionCredential or
// NewAssertionCallbackCredential. It never appears in logs or errors.
type Credential struct {
	secret    string
	certs     []*x509.Certificate
	key       crypto.Signer
	sendX5C   bool
	assertion string
	callback  func(ctx context.Context, aud string) (string, error)
}

// CredentialOption tunes a certificate credential.
type CredentialOption func(*Credential)

// WithX5C sends the certificate chain in the assertion's x5c header, for subject name
// and issuer authentication, which lets certificates roll without re-registering
// (MSAL: "public_certificate").
func WithX5C() CredentialOption { return func(c *Credential) { c.sendX5C = true } }

// NewSecretCredential returns a client-secret credential, sent as client_secret.
func NewSecretCredential(secret string) *Credential { return &Credential{secret: secret} }

// NewCertificateCredential returns a credential that signs a client assertion (a JWT
// with an x5t#S256 thumbprint header) with key; certs[0] must be key's certificate.
// ParseCertificatePEM reads both from PEM.
func NewCertificateCredential(certs []*x509.Certificate, key crypto.Signer, opts ...CredentialOption) (*Credential, error) {
	if len(certs) == 0 || certs[0] == nil {
		return nil, errors.New("identity: a certificate credential needs a certificate")
	}
	if key == nil {
		return nil, errors.New("identity: a certificate credential needs a private key")
	}
	if !publicKeysEqual(certs[0].PublicKey, key.Public()) {
		return nil, errors.New("identity: the private key does not belong to the first certificate")
	}
	if _, err := signingAlgorithm(key); err != nil {
		return nil, err
	}
	c := &Credential{certs: certs, key: key}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c, nil
}

// NewAssertionCredential returns a credential that sends a pre-signed client
// assertion as-is (MSAL: {"client_assertion": "..."}).
func NewAssertionCredential(assertion string) *Credential {
	return &Credential{assertion: assertion}
}

// NewAssertionCallbackCredential returns a credential that asks callback for a fresh
// client assertion for every request; aud is the token endpoint it will be sent to.
// Workload identity federation uses it to hand over a platform-issued token.
func NewAssertionCallbackCredential(callback func(ctx context.Context, aud string) (string, error)) *Credential {
	return &Credential{callback: callback}
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

// signingAlgorithm picks the JWS algorithm for key: PS256 for RSA (what Entra requires
// with x5t#S256), ES* by curve, EdDSA.
func signingAlgorithm(key crypto.Signer) (jose.SignatureAlgorithm, error) {
	switch k := key.Public().(type) {
	case *rsa.PublicKey:
		return jose.PS256, nil
	case *ecdsa.PublicKey:
		switch k.Curve.Params().BitSize {
		case 256:
			return jose.ES256, nil
		case 384:
			return jose.ES384, nil
		case 521:
			return jose.ES512, nil
		}
	case ed25519.PublicKey:
		return jose.EdDSA, nil
	}
	return "", fmt.Errorf("identity: unsupported private key type %T", key.Public())
}

// ParseCertificatePEM reads certificates and a private key from PEM data (one file or
// the concatenation of a certificate and a key file). password decrypts a legacy
// encrypted ("Proc-Type: 4,ENCRYPTED") key; PKCS#8 "ENCRYPTED PRIVATE KEY" blocks are
// not supported without a further dependency: decrypt them first (openssl pkcs8).
func ParseCertificatePEM(pemBytes []byte, password string) ([]*x509.Certificate, crypto.Signer, error) {
	var certs []*x509.Certificate
	var key crypto.Signer
	for rest := pemBytes; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch block.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("identity: certificate: %w", err)
			}
			certs = append(certs, c)
		case "ENCRYPTED PRIVATE KEY":
			return nil, nil, errors.New("identity: PKCS#8 encrypted keys are not supported; decrypt the key first")
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
			if key != nil {
				return nil, nil, errors.New("identity: more than one private key in the PEM data")
			}
			der := block.Bytes
			//lint:ignore SA1019 legacy encrypted PEM is what MSAL's passphrase option reads
			if x509.IsEncryptedPEMBlock(block) { //nolint:staticcheck
				if password == "" {
					return nil, nil, errors.New("identity: the private key is encrypted and no password was given")
				}
				var err error
				der, err = x509.DecryptPEMBlock(block, []byte(password)) //nolint:staticcheck
				if err != nil {
					return nil, nil, fmt.Errorf("identity: decrypting the private key: %w", err)
				}
			}
			k, err := parsePrivateKey(block.Type, der)
			if err != nil {
				return nil, nil, err
			}
			key = k
		}
	}
	if len(certs) == 0 {
		return nil, nil, errors.New("identity: no CERTIFICATE block in the PEM data")
	}
	if key == nil {
		return nil, nil, errors.New("identity: no private key in the PEM data")
	}
	// Put the key's own certificate first, as x5c and x5t require.
	for i, c := range certs {
		if publicKeysEqual(c.PublicKey, key.Public()) {
			certs[0], certs[i] = certs[i], certs[0]
			return certs, key, nil
		}
	}
	return nil, nil, errors.New("identity: no certificate in the PEM data matches the private key")
}

func parsePrivateKey(typ string, der []byte) (crypto.Signer, error) {
	var k any
	var err error
	switch typ {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(der)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(der)
	default:
		k, err = x509.ParsePKCS8PrivateKey(der)
	}
	if err != nil {
		return nil, fmt.Errorf("identity: private key: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("identity: private key type %T cannot sign", k)
	}
	return s, nil
}

// authenticate adds the client's authentication to a token request form.
func (a *ClientApplication) authenticate(ctx context.Context, form url.Values, tokenEndpoint string) error {
	c := a.credential
	if c == nil {
		return nil
	}
	switch {
	case c.key != nil:
		assertion, err := c.signAssertion(a.clientID, tokenEndpoint, a.cfg.clientClaims, a.now())
		if err != nil {
			return &Error{Err: err}
		}
		form.Set("client_assertion_type", clientAssertionType)
		form.Set("client_assertion", assertion)
	case c.callback != nil:
		assertion, err := c.callback(ctx, tokenEndpoint)
		if err != nil {
			return &Error{Err: fmt.Errorf("identity: client assertion callback: %w", err)}
		}
		form.Set("client_assertion_type", clientAssertionType)
		form.Set("client_assertion", assertion)
	case c.assertion != "":
		form.Set("client_assertion_type", clientAssertionType)
		form.Set("client_assertion", c.assertion)
	default:
		form.Set("client_secret", c.secret)
	}
	return nil
}

// signAssertion builds RFC 7523's client assertion: aud the token endpoint, iss and sub
// the client id, a random jti, ten minutes of validity; extra claims (client_claims)
// are added or override the defaults.
func (c *Credential) signAssertion(clientID, aud string, extra map[string]any, now time.Time) (string, error) {
	alg, err := signingAlgorithm(c.key)
	if err != nil {
		return "", err
	}
	thumb := sha256.Sum256(c.certs[0].Raw)
	opts := (&jose.SignerOptions{}).WithType("JWT").
		WithHeader("x5t#S256", base64.RawURLEncoding.EncodeToString(thumb[:]))
	if c.sendX5C {
		chain := make([]string, len(c.certs))
		for i, cert := range c.certs {
			chain[i] = base64.StdEncoding.EncodeToString(cert.Raw)
		}
		opts = opts.WithHeader("x5c", chain)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: c.key}, opts)
	if err != nil {
		return "", fmt.Errorf("identity: client assertion signer: %w", err)
	}
	claims := map[string]any{
		"aud": aud,
		"iss": clientID,
		"sub": clientID,
		"jti": newCorrelationID(),
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(assertionLifetime).Unix(),
	}
	for k, v := range extra {
		claims[k] = v
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("identity: signing the client assertion: %w", err)
	}
	return s, nil
}

// randomString returns n random bytes, base64url-encoded (state, nonce, PKCE verifier).
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
