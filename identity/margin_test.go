package identity

import (
	"testing"
	"time"
)

func TestProportionalExpiryMargin(t *testing.T) {
	tests := []struct {
		lifetime, want time.Duration
	}{
		{0, 5 * time.Minute},                 // unknown: MSAL's
		{24 * time.Hour, 5 * time.Minute},    // long: MSAL's
		{time.Hour, 5 * time.Minute},         // Entra's usual: MSAL's, unchanged
		{50 * time.Minute, 5 * time.Minute},  // the tenth reaches MSAL's cap here
		{30 * time.Minute, 3 * time.Minute},  // proportional
		{5 * time.Minute, 30 * time.Second},  // zitadel's: served for 4.5 minutes
		{2 * time.Minute, 30 * time.Second},  // floor
		{40 * time.Second, 20 * time.Second}, // never more than half the lifetime
		{-time.Second, 5 * time.Minute},      // nonsense counts as unknown
	}
	for _, tt := range tests {
		if got := ProportionalExpiryMargin(tt.lifetime); got != tt.want {
			t.Errorf("ProportionalExpiryMargin(%v) = %v, want %v", tt.lifetime, got, tt.want)
		}
	}
}
