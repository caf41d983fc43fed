package storage

import "errors"

// SetProfileSecret stores a profile's client secret in the keyring (service
// "tokendesk", user "profile-secret:<name>"), never in config.json.
func SetProfileSecret(kr Keyring, profile, secret string) error {
	if profile == "" || secret == "" {
		return errors.New("storage: SetProfileSecret needs a profile name and a secret")
	}
	return kr.Set(KeyringService, profileSecretPrefix+profile, secret)
}

// ProfileSecret returns the profile's client secret from the keyring; the error matches
// ErrNotFound when none is stored.
func ProfileSecret(kr Keyring, profile string) (string, error) {
	return kr.Get(KeyringService, profileSecretPrefix+profile)
}

// DeleteProfileSecret removes the profile's client secret; deleting a missing one is
// not an error.
func DeleteProfileSecret(kr Keyring, profile string) error {
	if err := kr.Delete(KeyringService, profileSecretPrefix+profile); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}
