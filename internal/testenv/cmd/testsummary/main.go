// Command testsummary reads `go test -json` on stdin and prints what a person needs
// from a full run: go test's own package lines, the complete output of every failed
// test, every skipped test with its reason, and which of the named real-part tests
// ran. `make test` uses it so its output proves the keyring, provider and smoke tests
// ran rather than skipped, without the noise of -v. It exits 1 when anything failed.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

// event is one line of `go test -json` (see `go doc test2json`).
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output events
	Test       string
	Elapsed    float64
	Output     string
}

type key struct{ pkg, test string }

type summary struct {
	out      io.Writer
	real     *regexp.Regexp
	buf      map[key][]string
	pkgFail  map[string]string // a package's "FAIL pkg" line, held until its failures are shown
	skips    []string
	realRuns []string
	passed   int
	failed   int
	skipped  int
	bad      bool
}

func main() {
	realTests := flag.String("real", "", "regexp of top-level test names that must run (reported by name)")
	flag.Parse()
	s := &summary{out: os.Stdout, buf: map[key][]string{}, pkgFail: map[string]string{}}
	if *realTests != "" {
		s.real = regexp.MustCompile(*realTests)
	}
	if err := s.read(os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	s.finish()
	if s.bad {
		os.Exit(1)
	}
}

var daemonNoise = regexp.MustCompile(`^dbus-daemon\[\d+\]: `)

func (s *summary) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		var e event
		if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &e) != nil {
			// Not an event: vet or build messages go test printed directly. The private
			// session bus's daemon chatter (fd limit, service activation) is noise.
			if !daemonNoise.MatchString(line) {
				fmt.Fprintln(s.out, line)
			}
			continue
		}
		s.handle(e)
	}
	return sc.Err()
}

func (s *summary) handle(e event) {
	if e.Action == "build-output" {
		fmt.Fprint(s.out, e.Output)
		return
	}
	if e.Action == "build-fail" {
		s.bad = true
		return
	}
	k := key{e.Package, e.Test}
	if e.Test == "" {
		switch e.Action {
		case "output":
			o := strings.TrimSpace(e.Output)
			switch {
			case o == "PASS" || o == "testing: warning: no tests to run":
			case strings.HasPrefix(o, "FAIL\t"):
				s.pkgFail[e.Package] += e.Output
			default:
				fmt.Fprint(s.out, e.Output)
			}
		case "fail":
			s.bad = true
			s.unfinished(e.Package)
			fmt.Fprint(s.out, s.pkgFail[e.Package])
			delete(s.pkgFail, e.Package)
		}
		return
	}
	top := !strings.Contains(e.Test, "/")
	switch e.Action {
	case "output":
		s.buf[k] = append(s.buf[k], e.Output)
	case "pass":
		if top {
			s.passed++
			if s.real != nil && s.real.MatchString(e.Test) {
				s.realRuns = append(s.realRuns, fmt.Sprintf("  ran     %s %s (%.2fs)", e.Package, e.Test, e.Elapsed))
			}
		}
		delete(s.buf, k)
	case "skip":
		if top {
			s.skipped++
		}
		s.skips = append(s.skips, fmt.Sprintf("  skipped %s %s: %s", e.Package, e.Test, skipReason(s.buf[k])))
		if s.real != nil && top && s.real.MatchString(e.Test) {
			s.realRuns = append(s.realRuns, fmt.Sprintf("  SKIPPED %s %s", e.Package, e.Test))
		}
		delete(s.buf, k)
	case "fail":
		s.bad = true
		if top {
			s.failed++
		}
		// A parent fails with its failed subtests, whose output was already shown.
		if lines := s.buf[k]; len(lines) > 0 {
			fmt.Fprintf(s.out, "--- FAIL: %s (%s)\n", e.Test, e.Package)
			for _, l := range lines {
				if !strings.HasPrefix(strings.TrimSpace(l), "=== ") {
					fmt.Fprint(s.out, l)
				}
			}
		}
		delete(s.buf, k)
	}
}

// unfinished prints the output of pkg's tests that never reported an end: the binary
// died under them (a panic, a race report, the -timeout), so their output is the cause.
func (s *summary) unfinished(pkg string) {
	var keys []key
	for k := range s.buf {
		if k.pkg == pkg {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].test < keys[j].test })
	for _, k := range keys {
		var lines []string
		for _, l := range s.buf[k] {
			if !strings.HasPrefix(strings.TrimSpace(l), "=== ") {
				lines = append(lines, l)
			}
		}
		delete(s.buf, k)
		if len(lines) == 0 {
			continue
		}
		if !strings.Contains(k.test, "/") {
			s.failed++
		}
		fmt.Fprintf(s.out, "--- FAIL: %s (%s) did not finish: the test binary died\n", k.test, k.pkg)
		for _, l := range lines {
			fmt.Fprint(s.out, l)
		}
	}
}

// skipReason is the message the test gave t.Skip, from the lines it printed.
func skipReason(lines []string) string {
	var msgs []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		msgs = append(msgs, t)
	}
	if len(msgs) == 0 {
		return "(no reason given)"
	}
	return strings.Join(msgs, " | ")
}

func (s *summary) finish() {
	fmt.Fprintf(s.out, "\nTests: %d passed, %d failed, %d skipped (top-level)\n", s.passed, s.failed, s.skipped)
	sort.Strings(s.skips)
	for _, l := range s.skips {
		fmt.Fprintln(s.out, l)
	}
	if s.real != nil {
		fmt.Fprintf(s.out, "Real parts (%s):\n", s.real)
		if len(s.realRuns) == 0 {
			fmt.Fprintln(s.out, "  none of them ran")
		}
		for _, l := range s.realRuns {
			fmt.Fprintln(s.out, l)
		}
	}
}
