package usecase

import (
	"context"
	"errors"
	"fmt"
)

// ErrNoSecretStore is returned when a profile needs an installed-app secret but the
// Desk has nowhere to keep one (no OS keyring).
var ErrNoSecretStore = errors.New("usecase: no keyring to keep the profile's client secret in")

// ErrNoSecret is what a SecretStore returns (or wraps) when it keeps no secret for a
// profile.
var ErrNoSecret = errors.New("usecase: no client secret kept for the profile")

// SecretStore keeps profiles' installed-app secrets. The OS keyring is the one place
// they go (internal/app's KeyringSecrets), never the configuration file.
type SecretStore interface {
	// ProfileSecret returns the secret kept for profile (ErrNoSecret if none).
	ProfileSecret(profile string) (string, error)
	// SetProfileSecret keeps secret for profile; "" deletes it (none kept is no error).
	SetProfileSecret(profile, secret string) error
}

// profileSecret reads profile's secret for its client, with an error that says how to
// set it when it is missing.
func profileSecret(store SecretStore, profile string) (string, error) {
	if store == nil {
		return "", fmt.Errorf("profile %q: %w", profile, ErrNoSecretStore)
	}
	secret, err := store.ProfileSecret(profile)
	if errors.Is(err, ErrNoSecret) || (err == nil && secret == "") {
		return "", fmt.Errorf("%w: profile %q needs its client secret; set it with `tokendesk profiles set-secret %q`",
			ErrProfileInvalid, profile, profile)
	}
	if err != nil {
		return "", fmt.Errorf("profile %q: reading its client secret: %w", profile, err)
	}
	return secret, nil
}

// SetProfileSecret keeps secret as profile's installed-app secret in the keyring and
// marks the profile as needing it; an empty secret removes both. The secret is never
// written to the configuration file.
func (d *Desk) SetProfileSecret(ctx context.Context, profile, secret string) error {
	if d.deps.Secrets == nil {
		return ErrNoSecretStore
	}
	s, err := d.settings(ctx)
	if err != nil {
		return err
	}
	i := s.profileIndex(profile)
	if i < 0 {
		return fmt.Errorf("%w: %q", ErrNoProfile, profile)
	}
	name := s.Profiles[i].Name
	if err := d.deps.Secrets.SetProfileSecret(name, secret); err != nil {
		return fmt.Errorf("usecase: keep the client secret of %q: %w", name, err)
	}
	err = d.deps.Config.Update(ctx, func(s *Settings) error {
		i := s.profileIndex(name)
		if i < 0 {
			return fmt.Errorf("%w: %q (removed meanwhile)", ErrNoProfile, name)
		}
		s.Profiles[i].SecretInKeyring = secret != ""
		return nil
	})
	if err != nil {
		return fmt.Errorf("usecase: save profiles: %w", err)
	}
	d.mu.Lock()
	delete(d.clients, name) // the next client is built with the new secret
	d.mu.Unlock()
	d.changed()
	return nil
}
