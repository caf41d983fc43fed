package identity

// TEMPORARY: placeholders for the wire layer so the package compiles while it is being
// written. The wire layer's owner deletes this file.

import (
	"context"
	"errors"
)

var errWireNotYet = errors.New("identity: wire layer not implemented yet")

type wireState struct{}

func newWireState(cfg *config) (*wireState, error) { return &wireState{}, nil }

// HTTPCache caches discovery responses (MSAL: http_cache=).
type HTTPCache struct{}

// Credential authenticates a confidential client (MSAL: client_credential=).
type Credential struct{ secret string }

// NewSecretCredential returns a client-secret credential.
func NewSecretCredential(secret string) *Credential { return &Credential{secret: secret} }

func (a *ClientApplication) resolveAuthority(ctx context.Context, override string) (*authorityInfo, error) {
	return nil, errWireNotYet
}

func (a *ClientApplication) redeem(ctx context.Context, req tokenRequest) (*tokenResponse, error) {
	return nil, errWireNotYet
}
