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
// mode here; SecureDir, run once at start-up, tightens it when it is ours.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("storage: creating %s: %w", dir, err)
	}
	return nil
}

// NoticeDirTightened: the Tokendesk directory let other users in (group or other
// permissions) and was made private (0700). NoticeDirLoose: it lets others in but is
// not clearly Tokendesk's alone, so it was left as it is.
const (
	NoticeDirTightened NoticeKind = "dir-tightened"
	NoticeDirLoose     NoticeKind = "dir-loose"
)

// SecureDir makes sure dir, the Tokendesk directory, exists and is private: a new one
// is created 0700, and an existing one that other users may enter is tightened to 0700
// when it is ours (owned by the current user, and named tokendesk or already holding
// Tokendesk's config.json or cache lock), with a NoticeDirTightened saying what was
// done. A looser directory that is not clearly ours (TOKENDESK_HOME pointing at a place
// shared on purpose) is left alone with a NoticeDirLoose. The notice is nil when
// nothing needed saying. On systems without Unix permissions it only creates dir.
func SecureDir(dir string) (*Notice, error) {
	if err := ensureDir(dir); err != nil {
		return nil, err
	}
	return tightenDir(dir)
}

// tokendeskDir reports whether dir is evidently Tokendesk's own: its default name, or
// a directory Tokendesk has already used.
func tokendeskDir(dir string) bool {
	if filepath.Base(dir) == "tokendesk" {
		return true
	}
	for _, name := range []string{ConfigFileName, LockFileName} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}
