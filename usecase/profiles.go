package usecase

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/profile"
)

// Profiles returns the configured profiles, the default first.
func (d *Desk) Profiles(ctx context.Context) ([]profile.Profile, error) {
	s, err := d.settings(ctx)
	if err != nil {
		return nil, err
	}
	return s.Profiles, nil
}

// AddProfile validates p and appends it to the configuration. Validation fetches the
// authority's discovery document (OpenID Connect Discovery 1.0) and, for an OIDC
// issuer, checks that it names the same issuer: a typo in the URL fails here, not at
// the first sign-in. Every validation failure matches ErrProfileInvalid.
func (d *Desk) AddProfile(ctx context.Context, p profile.Profile) error {
	p.Name = strings.TrimSpace(p.Name)
	p.Issuer = strings.TrimSpace(p.Issuer)
	p.Authority = strings.TrimSpace(p.Authority)
	p.ClientID = strings.TrimSpace(p.ClientID)
	p.FavouriteScopes = cleanScopes(p.FavouriteScopes)
	p.SignInScopes = cleanScopes(p.SignInScopes)
	s, err := d.settings(ctx)
	if err != nil {
		return err
	}
	if err := checkProfile(p); err != nil {
		return err
	}
	dup := func(s Settings) error {
		if _, dup := s.profile(p.Name); dup {
			return fmt.Errorf("%w: a profile named %q exists already", ErrProfileInvalid, p.Name)
		}
		return nil
	}
	if err := dup(s); err != nil {
		return err
	}
	if err := d.discover(ctx, p); err != nil {
		return err
	}
	// Checked again under the lock: another process may have added it meanwhile.
	err = d.deps.Config.Update(ctx, func(s *Settings) error {
		if err := dup(*s); err != nil {
			return err
		}
		s.Profiles = append(s.Profiles, p)
		return nil
	})
	if errors.Is(err, ErrProfileInvalid) {
		return err
	}
	if err != nil {
		return fmt.Errorf("usecase: save profile: %w", err)
	}
	d.changed()
	return nil
}

// RemoveProfile deletes the named profile. Its accounts' tokens stay in the cache (they
// reappear if the profile is added again); sign them out first to delete them.
func (d *Desk) RemoveProfile(ctx context.Context, name string) error {
	err := d.deps.Config.Update(ctx, func(s *Settings) error {
		i := s.profileIndex(name)
		if i < 0 {
			return fmt.Errorf("%w: %q", ErrNoProfile, name)
		}
		s.Profiles = append(s.Profiles[:i], s.Profiles[i+1:]...)
		return nil
	})
	if errors.Is(err, ErrNoProfile) {
		return err
	}
	if err != nil {
		return fmt.Errorf("usecase: save profiles: %w", err)
	}
	d.mu.Lock()
	delete(d.clients, name)
	d.mu.Unlock()
	d.changed()
	return nil
}

// checkProfile checks p's fields without I/O (profile.Check, config.json's rule too).
func checkProfile(p profile.Profile) error {
	if probs := profile.Check(p); len(probs) > 0 {
		msgs := make([]string, len(probs))
		for i, pr := range probs {
			msgs[i] = pr.String()
		}
		return fmt.Errorf("%w: %s", ErrProfileInvalid, strings.Join(msgs, "; "))
	}
	return nil
}

// discover resolves p's authority through identity, exactly as its first sign-in
// will (discovery document, endpoint and issuer checks), so a profile that cannot
// sign in is refused when it is added rather than at its first use.
func (d *Desk) discover(ctx context.Context, p profile.Profile) error {
	opts := []identity.Option{identity.WithHTTPClient(d.hc), identity.WithLogger(d.log)}
	if p.IsOIDC() {
		opts = append(opts, identity.WithOIDCAuthority(p.Issuer))
	} else {
		opts = append(opts, identity.WithAuthority(p.Authority))
	}
	pc, err := identity.NewPublicClient(p.ClientID, opts...)
	if err == nil {
		err = pc.Discover(ctx)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrProfileInvalid, err)
	}
	return nil
}
