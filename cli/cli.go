// Package cli is Tokendesk's command line: the same accounts and token cache as the
// window, for scripts, az-style tooling and kubectl.
//
//	tokendesk accounts [--json] [--profile P]
//	tokendesk login [--profile P] [--device-code] [--login-hint U] [--scope S]... [--account A] [--claims JSON]
//	tokendesk logout ACCOUNT
//	tokendesk token --scope S [--scope S2] [--account A] [--profile P]
//	                [--output token|json|az|exec-credential] [--force-refresh] [--timeout D]
//	tokendesk import --azure-cli | --msal-cache FILE
//	tokendesk export --msal-cache FILE [--account A] [--force]
//	tokendesk credential get|store|erase   (git's credential helper)
//	tokendesk az account get-access-token [--resource R | --scope S] [--tenant T]
//	                                      (also as "az", through a link named az)
//	tokendesk profiles [--json]
//	tokendesk version | help [COMMAND]
//
// Tokens and data go to stdout, every message to stderr, and the exit code says what
// went wrong (see the Exit constants), so a script can tell "sign in again" from a
// typo. Nothing secret is ever written to stderr.
//
// Commands drive a Desk, the small interface this package declares over usecase's and
// identity's own types (usecase.AccountView, profile.Profile, identity.Result), which
// *usecase.Desk implements and the tests fake, as the window does with ui.Desk. The
// exit code is read off usecase's sentinels directly; only the output shapes scripts
// parse (accounts --json, profiles --json, token --output ...) are the CLI's own.
package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/usecase"
)

// Exit codes. They are part of the CLI's interface: scripts branch on them.
const (
	// ExitOK means the command did what it was asked.
	ExitOK = 0
	// ExitError is any failure not covered below: the provider refused, the network
	// failed, storage or the keyring failed.
	ExitError = 1
	// ExitUsage means the command line was wrong (unknown command or flag, missing
	// --scope, an --account that matches several accounts); nothing was attempted.
	ExitUsage = 2
	// ExitInteractionRequired means no token can be had without the user: nothing
	// cached, or the refresh token was refused. Run "tokendesk login".
	ExitInteractionRequired = 3
	// ExitNotFound means the named account or profile does not exist (or no account is
	// signed in at all).
	ExitNotFound = 4
)

// env is one invocation's surroundings; tests build it by hand.
type env struct {
	// stdin is read only by `profiles set-secret` (a secret never goes on the command
	// line, where any local user can read it); login never prompts, so it works with
	// stdin closed or piped.
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	desk           Desk
}

// usageError is a command-line mistake; it maps to ExitUsage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	// usage is the synopsis line after "tokendesk ".
	usage string
	run   func(ctx context.Context, e *env, args []string) error
}

func commands() []command {
	return []command{
		{"accounts", "list signed-in accounts", "accounts [--json] [--profile P]", runAccounts},
		{"login", "sign in and add an account", "login [--profile P] [--device-code] [--login-hint U] [--scope S]... [--account A] [--claims JSON]", runLogin},
		{"logout", "sign out: remove an account's tokens", "logout ACCOUNT", runLogout},
		{"token", "print an access token for a scope", "token --scope S [--scope S2] [--account A] [--profile P] [--output token|json|az|exec-credential] [--force-refresh] [--timeout D]", runToken},
		{"import", "import sign-ins from Azure CLI or an MSAL token cache", "import --azure-cli | --msal-cache FILE", runImport},
		{"export", "write sign-ins to an MSAL token cache file (unencrypted)", "export --msal-cache FILE [--account A] [--force]", runExport},
		{"credential", "git credential helper: an access token as git's password", "credential get|store|erase < git's request", runCredential},
		{"az", "stand in for \"az account get-access-token\" (Azure SDKs' Azure CLI credential)", "az account get-access-token [--resource R | --scope S] [--tenant T] [--output json] [--account A]", runAz},
		{"profiles", "list configured profiles, or set one's client secret", "profiles [--json] | profiles set-secret [--clear] NAME < secret", runProfiles},
		{"version", "print the version", "version", runVersion},
		{"help", "show help for a command", "help [COMMAND]", runHelp},
	}
}

func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// run executes one command line and returns its exit code.
func run(ctx context.Context, args []string, e *env) int {
	if e.getenv == nil {
		e.getenv = os.Getenv
	}
	if len(args) == 0 {
		printUsage(e.stderr)
		return ExitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help":
		printUsage(e.stdout)
		return ExitOK
	case "-version", "--version":
		name = "version"
	}
	cmd, ok := findCommand(name)
	if !ok {
		fmt.Fprintf(e.stderr, "tokendesk: unknown command %q\n\n", name)
		printUsage(e.stderr)
		return ExitUsage
	}
	err := cmd.run(ctx, e, rest)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		reportError(e.stderr, cmd, err)
	}
	return exitCode(err)
}

// exitCode maps an error onto the documented exit codes.
func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue), errors.Is(err, usecase.ErrAmbiguousAccount):
		return ExitUsage
	case errors.Is(err, usecase.ErrNoAccount), errors.Is(err, usecase.ErrNoProfile):
		return ExitNotFound
	case errors.Is(err, identity.ErrInteractionRequired):
		return ExitInteractionRequired
	default:
		return ExitError
	}
}

// reportError writes err to stderr with the hint that fits its exit code.
func reportError(w io.Writer, cmd command, err error) {
	// The package prefix of usecase errors says nothing to a user; identity's stays, as
	// it marks what the authority answered.
	msg := redact(strings.ReplaceAll(err.Error(), "usecase: ", ""))
	if errors.Is(err, context.Canceled) {
		// Ctrl+C: the user knows why; the wrapped chain would only say "context canceled".
		msg = "cancelled"
	}
	fmt.Fprintf(w, "tokendesk %s: %s\n", cmd.name, msg)
	switch exitCode(err) {
	case ExitUsage:
		if errors.Is(err, usecase.ErrAmbiguousAccount) {
			fmt.Fprintln(w, `choose one: pass its key with --account (keys are listed by "tokendesk accounts")`)
		}
		fmt.Fprintf(w, "usage: tokendesk %s\n", cmd.usage)
	case ExitNotFound:
		if errors.Is(err, usecase.ErrNoAccount) {
			fmt.Fprintln(w, `see "tokendesk accounts", or sign in with "tokendesk login"`)
		}
	case ExitInteractionRequired:
		if cmd := loginCommand(err); cmd != "" {
			fmt.Fprintf(w, "to sign in again, run: %s\n(add --device-code without a browser)\n", cmd)
		} else {
			fmt.Fprintln(w, `sign-in required: run "tokendesk login" (add --device-code without a browser)`)
		}
	case ExitError:
		var ua x509.UnknownAuthorityError
		switch {
		case errors.Is(err, identity.ErrTimeout) || errors.Is(err, context.DeadlineExceeded):
			fmt.Fprintln(w, "no answer in time: check the network, proxy or VPN to the host named above, or raise --timeout")
		case errors.As(err, &ua):
			fmt.Fprintln(w, `the provider's certificate is signed by a CA this machine does not trust: if it is your organization's, set "ca_bundle" in config.json to a PEM file of it`)
		}
	}
}

// tokenLike matches JWTs (and JWEs) and long opaque token-ish runs. Errors from identity
// carry no tokens by design; this is the second belt, so a token that slipped into an
// error from anywhere is never echoed.
var tokenLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_.-]+|[A-Za-z0-9_\-]{80,}`)

// secretParam matches the value of a URL or form parameter that carries a credential,
// as in a redirect URL quoted by an HTTP client's error ("Get http://127.0.0.1/?code=…").
var secretParam = regexp.MustCompile(`(?i)\b((?:code|access_token|refresh_token|id_token|client_secret|code_verifier|device_code|assertion|client_assertion|password)=)[^&\s"']+`)

func redact(s string) string {
	s = secretParam.ReplaceAllString(s, "${1}[redacted]")
	return tokenLike.ReplaceAllString(s, "[redacted]")
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: tokendesk COMMAND [flags]")
	fmt.Fprintln(w, "\nTokendesk keeps OAuth 2.0 / OpenID Connect accounts; without a command it opens the window.")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun \"tokendesk help COMMAND\" for a command's flags.")
	fmt.Fprintf(w, "\nexit codes: %d ok, %d error, %d usage, %d sign-in required, %d no such account or profile\n",
		ExitOK, ExitError, ExitUsage, ExitInteractionRequired, ExitNotFound)
}

// newFlagSet returns a flag set that returns errors instead of exiting or printing:
// parse reports them.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("tokendesk "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses args, turning flag errors into usage errors and -h into help on stdout.
// Flags may follow positional arguments ("logout alice --x"), as users type them.
func parse(e *env, fs *flag.FlagSet, args []string) ([]string, error) {
	name := strings.TrimPrefix(fs.Name(), "tokendesk ")
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				cmd, _ := findCommand(name)
				fmt.Fprintf(e.stdout, "usage: tokendesk %s\n\n%s.\n", cmd.usage, cmd.summary)
				if hasFlags(fs) {
					fmt.Fprintln(e.stdout, "\nflags:")
					fs.SetOutput(e.stdout)
					fs.PrintDefaults()
					fs.SetOutput(io.Discard)
				}
				return nil, flag.ErrHelp
			}
			return nil, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}
