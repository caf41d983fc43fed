package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/usecase"
)

// Version is the release version, set at link time with
// -ldflags "-X github.com/tokendesk/tokendesk/cli.Version=v1.2.3". When empty, the
// module version and VCS revision from the build info are shown.
var Version = ""

func runAccounts(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("accounts")
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	profileName := fs.String("profile", "", "list only the accounts of profile `P`")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	// A failing profile still lets the others be listed; its error is reported after
	// the list (and sets the exit code).
	views, listErr := e.desk.Accounts(ctx)
	if listErr != nil && len(views) == 0 {
		return listErr
	}
	if *profileName != "" {
		if err := checkProfile(ctx, e, *profileName); err != nil {
			return err
		}
		views = filterProfile(views, *profileName)
	}
	accts := make([]accountRow, 0, len(views))
	for _, v := range views {
		accts = append(accts, rowOf(v))
	}
	if *asJSON {
		if err := writeJSON(e, accts); err != nil {
			return err
		}
		return listErr
	}
	if len(accts) == 0 {
		fmt.Fprintln(e.stderr, `No accounts. Run "tokendesk login" to sign in.`)
		return listErr
	}
	// tabwriter writes every cell on its own: buffered, 10,000 accounts are a few
	// writes instead of 120,000 system calls.
	bw := bufio.NewWriter(e.stdout)
	tw := tabwriter.NewWriter(bw, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tUSERNAME\tNAME\tTENANT\tPROFILE\tSTATUS")
	for _, a := range accts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Key, dash(a.Username), dash(a.Name),
			dash(firstNonEmpty(a.Tenant, a.Authority)), dash(a.Profile), dash(a.Status))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return listErr
}

// accountRow is one account as "tokendesk accounts" prints it; --json writes these
// names, which scripts read.
type accountRow struct {
	// Key is the stable handle that --account and logout accept.
	Key      string `json:"key"`
	Username string `json:"username,omitempty"`
	Name     string `json:"name,omitempty"`
	// Tenant is the tenant id (Entra) or issuer.
	Tenant string `json:"tenant,omitempty"`
	// Authority is the host or issuer the account signed in at.
	Authority string `json:"authority,omitempty"`
	Profile   string `json:"profile,omitempty"`
	// Status is usecase.Status's machine name ("valid", "refreshable", ...).
	Status string `json:"status,omitempty"`
}

func rowOf(v usecase.AccountView) accountRow {
	status, _ := v.Status.MarshalText()
	return accountRow{Key: v.Key, Username: v.Username, Name: v.DisplayName, Tenant: v.TenantOrIssuer,
		Authority: v.Account.Environment, Profile: v.Profile, Status: string(status)}
}

// profileRow is one profile as "tokendesk profiles --json" prints it; scripts read
// these names, so they stay as they were when the CLI had its own profile type.
type profileRow struct {
	Name      string `json:"name"`
	Authority string `json:"authority"`
	ClientID  string `json:"clientId"`
	// Scopes are the profile's favourite scopes (config.json's favourite_scopes).
	Scopes []string `json:"scopes,omitempty"`
	// DefaultScopes are asked for at sign-in (config.json's default_scopes).
	DefaultScopes []string `json:"defaultScopes,omitempty"`
	Default       bool     `json:"default,omitempty"`
}

func runProfiles(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "set-secret" {
		return runSetSecret(ctx, e, args[1:])
	}
	fs := newFlagSet("profiles")
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	profs, err := e.desk.Profiles(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		rows := make([]profileRow, 0, len(profs))
		for i, p := range profs {
			rows = append(rows, profileRow{Name: p.Name, Authority: p.AuthorityURL(), ClientID: p.ClientID,
				Scopes: p.FavouriteScopes, DefaultScopes: p.SignInScopes, Default: i == 0})
		}
		return writeJSON(e, rows)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	// Both kinds, as config.json names them: a profile with only default_scopes must not
	// look as if it had none.
	fmt.Fprintln(tw, "PROFILE\tAUTHORITY\tCLIENT ID\tDEFAULT SCOPES\tFAVOURITE SCOPES")
	for i, p := range profs {
		name := p.Name
		if i == 0 && !strings.Contains(strings.ToLower(name), "default") { // the first is the default
			name += " (default)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, p.AuthorityURL(), p.ClientID,
			dash(strings.Join(p.SignInScopes, " ")), dash(strings.Join(p.FavouriteScopes, " ")))
	}
	return tw.Flush()
}

func runLogin(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("login")
	profileName := fs.String("profile", "", "sign in with profile `P` (default: the default profile)")
	device := fs.Bool("device-code", false, "sign in with a code on another device instead of a browser")
	hint := fs.String("login-hint", "", "pre-fill username `U` at the sign-in page")
	var scopes scopeList
	fs.Var(&scopes, "scope", "also ask for scope `S` on top of the profile's (repeatable): consent to a scope added later")
	acctSel := fs.String("account", "", "with --scope: sign in again as account `A` (a key or username; default: the only account)")
	claims := fs.String("claims", "", "send claims challenge `JSON` (as \"tokendesk token\" names it when a resource asked for one)")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if *acctSel != "" && len(scopes) == 0 {
		return usagef("--account needs --scope (to sign in anew, use --login-hint)")
	}
	if *profileName != "" {
		if err := checkProfile(ctx, e, *profileName); err != nil {
			return err
		}
	}
	if len(scopes) > 0 && *hint == "" {
		// Incremental consent is for an account already here: sign it in again, with
		// its username as the login hint and in its profile. With no account at all,
		// this is a first sign-in asking for more.
		acct, err := e.desk.FindAccount(ctx, *acctSel, *profileName)
		switch {
		case err == nil:
			*hint = acct.Username
			if *profileName == "" {
				*profileName = acct.Profile
			}
		case *acctSel == "" && errors.Is(err, usecase.ErrNoAccount):
		default:
			return err
		}
	}
	deviceOpts := usecase.DeviceCodeOptions{AddScopes: scopes, OnCode: func(dc usecase.DeviceCode) { printDeviceCode(e, dc) }}
	var (
		acct usecase.AccountView
		err  error
	)
	if *device || !haveDisplay(e) {
		acct, err = e.desk.SignInWithDeviceCode(ctx, *profileName, deviceOpts)
	} else {
		acct, err = e.desk.SignIn(ctx, *profileName, usecase.SignInOptions{
			LoginHint: *hint,
			AddScopes: scopes,
			Claims:    *claims,
			OnAuthURL: func(u string) {
				fmt.Fprintf(e.stderr, "Opening a browser to sign in. If it did not open, visit:\n  %s\n", u)
			},
		})
		if errors.Is(err, identity.ErrBrowserUnavailable) {
			fmt.Fprintf(e.stderr, "No browser could be opened (%s); signing in with a device code instead.\n", redact(err.Error()))
			acct, err = e.desk.SignInWithDeviceCode(ctx, *profileName, deviceOpts)
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "Signed in as %s.\n", firstNonEmpty(acct.Username, acct.DisplayName, acct.Key))
	// The key on stdout lets a script capture which account it just added.
	fmt.Fprintln(e.stdout, acct.Key)
	return nil
}

// printDeviceCode tells the user where to enter the code. It goes to stderr so the
// command's stdout stays clean, and so it works when stdin is not a terminal.
func printDeviceCode(e *env, dc usecase.DeviceCode) {
	uri := firstNonEmpty(dc.VerificationURI, dc.VerificationURIComplete)
	fmt.Fprintf(e.stderr, "To sign in, open %s and enter the code %s\n", uri, dc.UserCode)
	if dc.VerificationURIComplete != "" && dc.VerificationURIComplete != uri {
		fmt.Fprintf(e.stderr, "Or open %s\n", dc.VerificationURIComplete)
	}
	if !dc.ExpiresAt.IsZero() {
		fmt.Fprintf(e.stderr, "The code expires at %s.\n", dc.ExpiresAt.Local().Format("15:04:05"))
	}
}

// haveDisplay reports whether a browser could plausibly open: on Linux and the BSDs a
// graphical session needs DISPLAY or WAYLAND_DISPLAY (over SSH neither is set, and the
// device code is the only way that works).
func haveDisplay(e *env) bool {
	switch runtime.GOOS {
	case "windows", "darwin":
		return true
	}
	return e.getenv("DISPLAY") != "" || e.getenv("WAYLAND_DISPLAY") != ""
}

func runLogout(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("logout")
	rest, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("logout needs exactly one ACCOUNT (a key or username from \"tokendesk accounts\")")
	}
	if rest[0] == "" {
		return usagef("the ACCOUNT is empty")
	}
	acct, err := e.desk.FindAccount(ctx, rest[0], "")
	if err != nil {
		return err
	}
	if err := e.desk.SignOut(ctx, acct.Key); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "Signed out %s.\n", firstNonEmpty(acct.Username, acct.Key))
	return nil
}

func runVersion(_ context.Context, e *env, args []string) error {
	fs := newFlagSet("version")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "tokendesk %s\n", version())
	return nil
}

func version() string {
	if Version != "" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}

func runHelp(_ context.Context, e *env, args []string) error {
	if len(args) == 0 {
		printUsage(e.stdout)
		return nil
	}
	cmd, ok := findCommand(args[0])
	if !ok || cmd.name == "help" {
		if ok {
			fmt.Fprintf(e.stdout, "usage: tokendesk %s\n", cmd.usage)
			return nil
		}
		return usagef("unknown command %q", args[0])
	}
	err := cmd.run(context.Background(), e, []string{"-h"})
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// parseFlags parses the flags of a command that takes no positional arguments.
func parseFlags(e *env, fs *flag.FlagSet, args []string) error {
	rest, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	return nil
}

func filterProfile(accts []usecase.AccountView, profile string) []usecase.AccountView {
	if profile == "" {
		return accts
	}
	var out []usecase.AccountView
	for _, a := range accts {
		if strings.EqualFold(a.Profile, profile) {
			out = append(out, a)
		}
	}
	return out
}

// checkProfile fails with usecase.ErrNoProfile when name is not configured, listing the ones
// that are.
func checkProfile(ctx context.Context, e *env, name string) error {
	profs, err := e.desk.Profiles(ctx)
	if err != nil {
		return err
	}
	var names []string
	for _, p := range profs {
		if strings.EqualFold(p.Name, name) {
			return nil
		}
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return fmt.Errorf("%w %q (configured: %s)", usecase.ErrNoProfile, name, strings.Join(names, ", "))
}

func writeJSON(e *env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// runSetSecret keeps a profile's installed-app client secret (read from the first line
// of stdin, never from argv) in the OS keyring and marks the profile as needing it.
func runSetSecret(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("profiles set-secret")
	remove := fs.Bool("clear", false, "remove the profile's secret instead of setting one")
	rest, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("profiles set-secret takes one profile name (the secret is read from stdin)")
	}
	name := rest[0]
	var secret string
	if !*remove {
		if e.stdin == nil {
			return usagef("profiles set-secret reads the secret from stdin")
		}
		line, err := bufio.NewReader(io.LimitReader(e.stdin, 64<<10)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading the secret from stdin: %w", err)
		}
		if secret = strings.TrimRight(line, "\r\n"); secret == "" {
			return usagef("no secret on stdin (use --clear to remove one)")
		}
	}
	if err := e.desk.SetProfileSecret(ctx, name, secret); err != nil {
		return err
	}
	if *remove {
		fmt.Fprintf(e.stderr, "Removed the client secret of profile %q.\n", name)
	} else {
		fmt.Fprintf(e.stderr, "Kept the client secret of profile %q in the OS keyring.\n", name)
	}
	return nil
}
