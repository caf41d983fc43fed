// Package fynelocale keeps Fyne's locale lookup quiet in locales it cannot parse.
//
// Fyne's lang package reads the locale from LC_ALL, LC_MESSAGES or LANG (then LANGUAGE)
// in its package init, before main runs, and logs three "Fyne error: Error parsing user
// locale" lines on stderr for a value it cannot parse: C.UTF-8 (the default of Debian
// and Ubuntu container images and of CI), C.utf8, POSIX.UTF-8, or a value with an
// @modifier such as de_DE@euro. Every CLI call would print them, and an exec
// credential plugin's stderr reaches its user through kubectl.
//
// Importing this package fixes that without a re-exec: its init rewrites such a value
// in the environment to one Fyne parses to the same language ("C" for C.UTF-8, which
// Fyne takes as English; de_DE for de_DE@euro), and Restore puts the original back
// before main does anything else, so children and the rest of the program see the
// user's environment.
//
// Its init must run before Fyne's. Go initialises a package only after everything it
// imports; this one imports only strings and syscall, so it is ready almost at once,
// while Fyne's lang waits for go-locale, golang.org/x/text and Fyne itself
// (GODEBUG=inittrace=1 shows this package's init long before fyne.io/fyne/v2/lang's).
// main imports it. The binary-level tests (cli/locale_e2e_test.go, and the installed
// package's in internal/packagecheck) fail if that order ever changes.
package fynelocale

import (
	"strings"
	"syscall"
)

// original is a variable's value before init rewrote it.
type original struct {
	name, value string
}

// rewritten lists what init changed, for Restore.
var rewritten []original

func init() {
	rewritten = rewrite(syscall.Getenv, syscall.Setenv)
}

// Restore puts back every variable init rewrote. main calls it first.
func Restore() {
	for _, o := range rewritten {
		syscall.Setenv(o.name, o.value)
	}
	rewritten = nil
}

// rewrite changes, through set, the variables Fyne's locale lookup would fail to parse,
// and returns their original values. It follows go-locale's order: the first of LC_ALL,
// LC_MESSAGES and LANG that is set; LANGUAGE (a colon-separated list) unless that one
// is C or POSIX.
func rewrite(get func(string) (string, bool), set func(string, string) error) []original {
	var out []original
	change := func(name, old, new string) {
		if new != old && set(name, new) == nil {
			out = append(out, original{name, old})
		}
	}
	for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		v, _ := get(name)
		if v == "" {
			continue
		}
		clean := parsable(v)
		change(name, v, clean)
		if clean == "C" || clean == "POSIX" {
			return out // go-locale ignores LANGUAGE then
		}
		break
	}
	if langs, _ := get("LANGUAGE"); langs != "" {
		var kept []string
		for _, l := range strings.Split(langs, ":") {
			if c := parsable(l); c != "C" && c != "POSIX" && c != "" {
				kept = append(kept, c)
			}
		}
		change("LANGUAGE", langs, strings.Join(kept, ":"))
	}
	return out
}

// parsable is locale value v in a form go-locale turns into a tag Fyne parses: C or
// POSIX with a codeset made plain C, an @modifier before the codeset dropped (go-locale
// drops the codeset and what follows it itself). Other values are returned unchanged.
func parsable(v string) string {
	if v == "C" || v == "POSIX" {
		return v
	}
	base, _, _ := strings.Cut(v, ".")
	lang, _, _ := strings.Cut(strings.ReplaceAll(base, "-", "_"), "_")
	lang, _, _ = strings.Cut(lang, "@")
	if lang == "C" || lang == "POSIX" {
		return "C"
	}
	if noModifier, _, found := strings.Cut(base, "@"); found {
		return noModifier
	}
	return v
}
