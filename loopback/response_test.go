package loopback

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func fmtV(r Response) string { return fmt.Sprintf("%v %+v %#v %s", r, r, r, r) }

func TestParseRedirect(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		want    Response // Values not compared
		wantErr error
	}{
		{"code", "code=c&state=s&iss=https%3A%2F%2Fi", Response{Code: "c", State: "s", Issuer: "https://i"}, nil},
		{"error", "error=access_denied&error_description=no+way&error_uri=https%3A%2F%2Fe&state=s",
			Response{Error: "access_denied", ErrorDescription: "no way", ErrorURI: "https://e", State: "s"}, nil},
		{"extensions kept", "code=c&state=s&client_info=abc&session_state=x", Response{Code: "c", State: "s"}, nil},
		{"empty", "", Response{}, errNoCodeOrError},
		{"state only", "state=s", Response{}, errNoCodeOrError},
		{"empty code", "code=&state=s", Response{}, errNoCodeOrError},
		{"both", "code=c&error=e", Response{}, errCodeAndError},
		{"repeated code", "code=a&code=b", Response{}, errRepeatedParam},
		{"repeated state", "code=a&state=a&state=a", Response{}, errRepeatedParam},
		{"repeated iss", "code=a&iss=a&iss=b", Response{}, errRepeatedParam},
		{"repeated error_description", "error=a&error_description=a&error_description=b", Response{}, errRepeatedParam},
		{"too large", "code=" + strings.Repeat("a", MaxQueryBytes), Response{}, errTooLarge},
		{"semicolon", "code=a;state=b", Response{}, nil /* any error */},
		{"bad escape", "code=%zz", Response{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRedirect(tt.raw)
			if fmtFields(tt.want) == fmtFields(Response{}) {
				if err == nil {
					t.Fatalf("no error for %q", tt.raw)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmtFields(got) != fmtFields(tt.want) {
				t.Errorf("got %#v, want %#v", fmtFields(got), fmtFields(tt.want))
			}
		})
	}
}

func fmtFields(r Response) string {
	return fmt.Sprintf("code=%q state=%q iss=%q error=%q desc=%q uri=%q", r.Code, r.State, r.Issuer, r.Error, r.ErrorDescription, r.ErrorURI)
}

func TestResponseRedactsCode(t *testing.T) {
	r, err := parseRedirect("code=" + testCode + "&state=s")
	if err != nil {
		t.Fatal(err)
	}
	if s := fmtV(r); strings.Contains(s, testCode) || !strings.Contains(s, "redacted") {
		t.Errorf("formatted response: %s", s)
	}
	if s := r.LogValue().String(); strings.Contains(s, testCode) {
		t.Errorf("LogValue: %s", s)
	}
}

// FuzzParseRedirect: no input panics; an accepted one is exactly one of success or
// error, within the size bound, and agrees with url.ParseQuery.
func FuzzParseRedirect(f *testing.F) {
	for _, s := range []string{
		"code=c&state=s&iss=https%3A%2F%2Fi",
		"error=access_denied&error_description=%3Cscript%3E&state=s",
		"code=a&code=b",
		"code=%zz",
		"code=a;state=b",
		"",
		"=&&=&code",
		"code=%00%ff&state=%E2%80%AE",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r, err := parseRedirect(raw)
		if err != nil {
			return
		}
		if len(raw) > MaxQueryBytes {
			t.Fatalf("accepted %d bytes", len(raw))
		}
		if (r.Code == "") == (r.Error == "") {
			t.Fatalf("accepted a response that is not exactly one of code or error: %q", raw)
		}
		v, err := url.ParseQuery(raw)
		if err != nil {
			t.Fatalf("accepted what url.ParseQuery rejects: %q", raw)
		}
		if v.Get("code") != r.Code || v.Get("state") != r.State || v.Get("error") != r.Error {
			t.Fatalf("fields disagree with the query: %q", raw)
		}
		if s := fmtV(Response{Code: r.Code}); strings.Contains(s, r.Code) && !strings.Contains(fmtV(Response{Code: "x"}), r.Code) {
			t.Fatalf("code printed: %s", s)
		}
	})
}
