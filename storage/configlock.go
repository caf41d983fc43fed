package storage

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
)

// ConfigLockFileName is the lock every change of config.json is made under; it is
// empty and never deleted.
const ConfigLockFileName = "config.lock"

// UpdateConfig changes dir/config.json with change as one read-modify-write under a
// cross-process lock (config.lock), so concurrent changers (the window, the tray, any
// number of CLI processes) never lose each other's changes: each reads the file as the
// previous one left it. change gets the current configuration (DefaultConfig when the
// file is missing) and edits it in place; an error from it, or a configuration that
// does not validate, leaves the file untouched. The wait for the lock ends with ctx
// (or after DefaultLockTimeout when ctx has no deadline).
func UpdateConfig(ctx context.Context, dir string, change func(*Config) error) error {
	if change == nil {
		return errors.New("storage: UpdateConfig: nil change")
	}
	if err := ensureDir(dir); err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultLockTimeout)
		defer cancel()
	}
	unlock, err := lockPath(ctx, filepath.Join(dir, ConfigLockFileName), "config.json")
	if err != nil {
		return err
	}
	defer unlock()
	cfg, err := LoadConfig(dir)
	if err != nil {
		return err
	}
	if err := change(cfg); err != nil {
		return err
	}
	return saveConfig(dir, cfg)
}

// ConfigVersion identifies one version of config.json, from one stat: a watcher (the
// window noticing edits made by the CLI or by hand) compares it with the last one seen
// and reloads only when it differs. Saves replace the file by rename, so every save
// changes it. The zero value means no file.
type ConfigVersion struct{ sig fileSig }

// StatConfig returns the current ConfigVersion of dir/config.json.
func StatConfig(dir string) (ConfigVersion, error) {
	sig, err := statSig(filepath.Join(dir, ConfigFileName))
	if err != nil {
		return ConfigVersion{}, fmt.Errorf("storage: config.json: %w", err)
	}
	return ConfigVersion{sig: sig}, nil
}
