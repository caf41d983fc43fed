package identity

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestOpenSystemBrowserLauncher runs the default opener against stand-in launchers: one
// that fails at once is a browser error, one that stays in the foreground (a browser
// started by xdg-open in generic mode) is not waited for.
func TestOpenSystemBrowserLauncher(t *testing.T) {
	old := launcherGrace
	launcherGrace = 200 * time.Millisecond
	t.Cleanup(func() { launcherGrace = old })
	tests := []struct {
		name    string
		script  string
		wantErr bool
	}{
		{"returns", "exit 0", false},
		{"fails", "exit 3", true},
		{"stays in the foreground", "sleep 2", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			err := os.WriteFile(filepath.Join(dir, "xdg-open"), []byte("#!/bin/sh\n"+tt.script+"\n"), 0o755)
			if err != nil {
				t.Fatal(err)
			}
			t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
			t.Setenv("DISPLAY", ":0")
			t.Setenv("WAYLAND_DISPLAY", "")
			start := time.Now()
			err = openSystemBrowser(context.Background(), "http://127.0.0.1:1/authorize")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("the opener waited %v for its launcher", took)
			}
		})
	}
}
