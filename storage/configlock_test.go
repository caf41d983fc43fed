package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/tokendesk/tokendesk/profile"
)

// Concurrent read-modify-writes of config.json each keep the others' changes. (The
// same through 20 CLI processes: cli's TestEndToEndBinaryConcurrentConfigWriters.)
func TestUpdateConfigLosesNothing(t *testing.T) {
	dir := t.TempDir()
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := UpdateConfig(context.Background(), dir, func(c *Config) error {
				c.Profiles = append(c.Profiles, profile.Profile{Name: fmt.Sprintf("p%02d", i),
					Issuer: "https://issuer.example", ClientID: "c"})
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	c, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for i := range n {
		if _, ok := c.Profile(fmt.Sprintf("p%02d", i)); ok {
			got++
		}
	}
	if got != n {
		t.Errorf("%d of %d profiles survived", got, n)
	}
	v1, err := StatConfig(dir)
	if err != nil || v1 == (ConfigVersion{}) {
		t.Fatalf("StatConfig: %v, %v", v1, err)
	}
	// A failed change writes nothing; a saved one changes the version.
	boom := errors.New("boom")
	if err := UpdateConfig(context.Background(), dir, func(c *Config) error { c.Profiles = nil; return boom }); !errors.Is(err, boom) {
		t.Fatalf("failed change: %v", err)
	}
	if v, _ := StatConfig(dir); v != v1 {
		t.Error("a failed change rewrote the file")
	}
	if err := UpdateConfig(context.Background(), dir, func(c *Config) error { c.ClipboardClearSeconds = 5; return nil }); err != nil {
		t.Fatal(err)
	}
	if v, _ := StatConfig(dir); v == v1 {
		t.Error("a saved change kept the version")
	}
}
