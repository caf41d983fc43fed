package usecase

import (
	"strings"
	"testing"
)

func TestInspect(t *testing.T) {
	// A fake RS256-shaped JWT: {"alg":"RS256","kid":"k1","typ":"at+jwt"} . {"sub":"alice","exp":1} . signature bytes
	jwt := "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJhbGljZSIsImV4cCI6MX0.c2lnbmF0dXJl"
	tests := []struct {
		name, token string
		jwt         bool
		header      string // substring
		claims      string // substring
		note        string // substring
	}{
		{"jwt", jwt, true, `"kid": "k1"`, `"sub": "alice"`, ""},
		{"opaque", "2YotnFZFEjr1zCsicMWpAA", false, "", "", "opaque"},
		{"jwe", "a.b.c.d.e", false, "", "", "encrypted"},
		{"garbage dots", "a.b.c", false, "", "", "opaque"},
		{"empty", "", false, "", "", "no token"},
	}
	for _, tt := range tests {
		got := Inspect(tt.token)
		if got.JWT != tt.jwt || !strings.Contains(got.Header, tt.header) || !strings.Contains(got.Claims, tt.claims) || !strings.Contains(got.Note, tt.note) {
			t.Errorf("%s: Inspect = %+v", tt.name, got)
		}
	}
}
