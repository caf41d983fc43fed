package ui

import (
	"os"
	"path/filepath"
	"testing"
)

func TestThemeIconName(t *testing.T) {
	home, sys := t.TempDir(), t.TempDir()
	t.Setenv("XDG_DATA_HOME", home)
	t.Setenv("XDG_DATA_DIRS", sys)
	if got := themeIconName(); got != "" {
		t.Errorf("no icon installed: IconName %q", got)
	}
	t.Setenv("HOME", t.TempDir())
	// Other names, or the right name in a directory the lookup does not search, are
	// not the icon.
	for _, f := range []string{"icons/hicolor/48x48/apps/tokendesk-old.png", "pixmaps/dev.tokendesk.app.txt", "icons/x/tokendesk.png"} {
		write(t, filepath.Join(sys, f))
	}
	if got := themeIconName(); got != "" {
		t.Errorf("no icon of that name in the lookup: IconName %q", got)
	}
	// fyne package's system install: share/pixmaps/<app id>.png.
	write(t, filepath.Join(sys, "pixmaps/tokendesk.png"))
	if got := themeIconName(); got != "tokendesk" {
		t.Errorf("icon in pixmaps: IconName %q, want tokendesk", got)
	}
	// fyne package's user install: ~/.local/share/icons/<app id>.png, preferred name.
	write(t, filepath.Join(home, "icons/dev.tokendesk.app.png"))
	if got := themeIconName(); got != "dev.tokendesk.app" {
		t.Errorf("packaged icon in the user's icons: IconName %q, want dev.tokendesk.app", got)
	}
}

func write(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}
