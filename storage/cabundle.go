package storage

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
)

// maxCABundle bounds what LoadCABundle reads: the whole Mozilla bundle is about 220 KB.
const maxCABundle = 4 << 20

// LoadCABundle returns the system's trusted CAs plus every certificate in the PEM file
// at path (config.json's ca_bundle), for providers behind a TLS-inspecting corporate
// proxy or with a private CA. A file without any certificate is an error, so a wrong
// path or a DER file is noticed at start-up, not at the first failed sign-in. (On Linux,
// SSL_CERT_FILE and SSL_CERT_DIR replace the system's CAs themselves, for every Go
// program.)
func LoadCABundle(path string) (*x509.CertPool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("storage: ca_bundle: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCABundle+1))
	if err != nil {
		return nil, fmt.Errorf("storage: ca_bundle %s: %w", path, err)
	}
	if len(data) > maxCABundle {
		return nil, fmt.Errorf("storage: ca_bundle %s is larger than %d MiB", path, maxCABundle>>20)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool() // Windows before Go 1.18 and odd systems: the bundle alone
	}
	n := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("storage: ca_bundle %s: certificate %d: %w", path, n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("storage: ca_bundle %s holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path)
	}
	return pool, nil
}
