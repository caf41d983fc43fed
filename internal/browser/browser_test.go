package browser

import (
	"fmt"
	"testing"
)

// outcomeTB records how Require ended instead of ending the real test.
type outcomeTB struct {
	testing.TB
	outcome string
}

type stopped struct{}

func (o *outcomeTB) Helper()                   {}
func (o *outcomeTB) Skip(args ...any)          { o.outcome = "skip"; panic(stopped{}) }
func (o *outcomeTB) Fatalf(string, ...any)     { o.outcome = "fail"; panic(stopped{}) }
func (o *outcomeTB) Fatal(args ...any)         { o.outcome = "fail"; panic(stopped{}) }
func (o *outcomeTB) Skipf(f string, a ...any)  { o.Skip(fmt.Sprintf(f, a...)) }
func (o *outcomeTB) Errorf(f string, a ...any) { o.outcome = "fail" }

func require(t *testing.T) (outcome string) {
	o := &outcomeTB{TB: t, outcome: "run"}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(stopped); !ok {
				panic(r)
			}
		}
		outcome = o.outcome
	}()
	Require(o)
	return o.outcome
}

// TestRequire: the browser test runs wherever Chromium exists, skips only on request
// outside CI, and fails (never skips) when Chromium is missing.
func TestRequire(t *testing.T) {
	tests := []struct {
		name, ci, skip, chromium, want string
	}{
		{"missing, local", "", "", "/nonexistent/chromium", "fail"},
		{"missing, CI", "true", "", "/nonexistent/chromium", "fail"},
		{"missing, CI, skip asked", "true", "1", "/nonexistent/chromium", "fail"},
		{"skip asked, local", "", "1", "/nonexistent/chromium", "skip"},
		{"present", "true", "", "/bin/sh", "run"},
		{"present, skip asked in CI", "true", "1", "/bin/sh", "run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			t.Setenv("TOKENDESK_SKIP_BROWSER", tt.skip)
			t.Setenv("TOKENDESK_CHROMIUM", tt.chromium)
			if got := require(t); got != tt.want {
				t.Errorf("Require: %s, want %s", got, tt.want)
			}
		})
	}
}
