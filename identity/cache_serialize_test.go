package identity

// Tests of the cache's JSON reader and writer: bad input, round trips, the ASCII
// fast paths.

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestCacheDeserializeBadInput(t *testing.T) {
	good := `{"AccessToken": {"k": {"secret": "s", "expires_on": "1"}}}`
	tests := []struct {
		name, data string
		wantErr    string // "" means it must load
	}{
		{"empty is an empty cache", "", ""},
		{"whitespace is an empty cache", " \n ", ""},
		{"good", good, ""},
		{"truncated", good[:len(good)/2], "unexpected end"},
		{"truncated string", `{"AccessToken": {"k": {"secret": "s`, "unexpected end"},
		{"not an object", `[1,2]`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"section of wrong type", `{"AccessToken": []}`, "section AccessToken is not a JSON object"},
		{"entry of wrong type", `{"Account": {"k": "v"}}`, `Account entry "k" is not a JSON object`},
		{"known field of wrong type", `{"AccessToken": {"k": {"secret": 42}}}`, "secret must be a string"},
		{"known field as object", `{"IdToken": {"k": {"realm": {}}}}`, "realm must be a string"},
		{"trailing data", good + `{}`, "unexpected data after"},
		{"missing comma", `{"AccessToken": {} "Account": {}}`, "want ',' or '}'"},
		{"bad unknown value", `{"Other": {"a": tru}}`, "malformed value"},
		{"control character", "{\"AccessToken\": {\"k\": {\"secret\": \"a\x01b\"}}}", "control character"},
		{"bad escape", `{"AccessToken": {"k": {"secret": "\q"}}}`, "bad string"},
		{"unknown section kept", `{"Future": {"x": [1, {"y": null}]}, "AccessToken": {}}`, ""},
		{"huge numbers kept", `{"Other": 1e999999, "AccessToken": {"k": {"expires_on": "999999999999999999999999", "n": 123456789012345678901234567890}}}`, ""},
		{"deep nesting in an unknown field", `{"Other": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, "malformed value"},
		{"duplicate member keeps the last", `{"AccessToken": {"k": {"secret": "a", "secret": "b"}}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewTokenCache()
			mustStore(t, c, entraAuthority("organizations"), testClientID, userResponse(alice, "", "s", "at", "rt"))
			before, _ := c.Serialize()
			err := c.Deserialize([]byte(tt.data))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Deserialize: %v", err)
				}
				if _, err := c.Serialize(); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Deserialize error = %v, want one containing %q", err, tt.wantErr)
			}
			if after, _ := c.Serialize(); !bytes.Equal(before, after) {
				t.Fatal("a failed Deserialize changed the cache")
			}
		})
	}
}

func TestCacheRoundTripPreservesUnknownAndIsDeterministic(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "cache", "foreign.json"))
	if err != nil {
		t.Fatal(err)
	}
	c := NewTokenCache()
	if err := c.Deserialize(in); err != nil {
		t.Fatal(err)
	}
	out, err := c.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal(in, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &b); err != nil {
		t.Fatalf("Serialize wrote invalid JSON: %v", err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("round trip changed the cache:\n%s", out)
	}
	c2 := NewTokenCache()
	if err := c2.Deserialize(out); err != nil {
		t.Fatal(err)
	}
	out2, _ := c2.Serialize()
	if !bytes.Equal(out, out2) {
		t.Fatal("Serialize is not deterministic across a round trip")
	}
	// A store keeps what it does not own.
	mustStore(t, c2, entraAuthority("organizations"), testClientID, userResponse(alice, "", "User.Read", "at", "rt"))
	out3, _ := c2.Serialize()
	for _, s := range []string{`"FutureSection"`, `"x_future_field":{`, `"ext_expires_on":"1700003600"`, `"big":123456789012345678901234567890`} {
		if !bytes.Contains(out3, []byte(s)) {
			t.Errorf("after a store, %s is missing", s)
		}
	}
}

func FuzzDeserialize(f *testing.F) {
	for _, s := range []string{"", "{}", `{"AccessToken":{}}`, `{"AccessToken":{"k":{"secret":"s","expires_on":"1"}},"X":[1,{"a":null}]}`} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "cache", "foreign.json")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := NewTokenCache()
		if err := c.Deserialize(data); err != nil {
			return
		}
		out, err := c.Serialize()
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(out) {
			t.Fatalf("Serialize wrote invalid JSON for %q", data)
		}
		c2 := NewTokenCache()
		if err := c2.Deserialize(out); err != nil {
			t.Fatalf("cannot reload own output: %v", err)
		}
		out2, _ := c2.Serialize()
		if !bytes.Equal(out, out2) {
			t.Fatalf("round trip not stable:\n%s\n%s", out, out2)
		}
	})
}

func TestPlainPrefix(t *testing.T) {
	naive := func(s string) int {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
				return i
			}
		}
		return len(s)
	}
	long := strings.Repeat("eyJ0eXAiOiJKV1QiLCJhbGciOi.-_~ !#$%&'()*+,/:;<=>?@[]^`{|}", 20)
	cases := []string{"", "a", "abcdefgh", long, long + "é", "é" + long}
	for c := 0; c < 256; c++ {
		for _, at := range []int{0, 3, 8, 13} {
			b := []byte(long[:16])
			b[at] = byte(c)
			cases = append(cases, string(b))
		}
	}
	for _, s := range cases {
		if got, want := plainPrefix(s), naive(s); got != want {
			t.Fatalf("plainPrefix(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestLower(t *testing.T) {
	for c := 0; c < 256; c++ {
		for _, at := range []int{0, 5, 8, 12} {
			b := []byte("0123456789abcdef-xyz")
			b[at] = byte(c)
			s := string(b)
			if got, want := lower(s), strings.ToLower(s); got != want {
				t.Fatalf("lower(%q) = %q, want %q", s, got, want)
			}
		}
	}
}
