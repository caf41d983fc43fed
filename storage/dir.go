package storage

import (
	"fmt"
	"os"
	"path/filepath"
)

// EnvHome names the environment variable that overrides the Tokendesk directory, so
// tests and portable installs can keep their state elsewhere.
const EnvHome = "TOKENDESK_HOME"

// DefaultDir returns the directory holding the token cache and config.json:
// $TOKENDESK_HOME when set, else os.UserConfigDir()/tokendesk
// (~/.config/tokendesk on Linux). It does not create the directory.
func DefaultDir() (string, error) {
	if d := os.Getenv(EnvHome); d != "" {
		return filepath.Abs(d)
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("storage: no user config directory (set %s): %w", EnvHome, err)
	}
	return filepath.Join(base, "tokendesk"), nil
}

// ensureDir creates dir with mode 0700 when missing. An existing directory keeps its
// mode: tightening a directory the user chose (TOKENDESK_HOME=/some/shared/place) is not
// ours to do, but a new one is private from the start.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("storage: creating %s: %w", dir, err)
	}
	return nil
}
