package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/tokendesk/tokendesk/usecase"
)

// maxCredentialInput bounds what git's request may be; real ones are a few lines.
const maxCredentialInput = 64 << 10

// runCredential is git's credential helper protocol (gitcredentials(7)): git runs
// "tokendesk credential get|store|erase" with key=value lines on stdin. "get" answers
// username and password (a fresh access token for the host's scope) on stdout, or
// nothing at all when it has no answer; "erase" drops the cached access token git
// says was refused, so the next "get" refreshes; "store" has nothing to keep, since
// the token is Tokendesk's own. Other actions are ignored, as the protocol asks.
func runCredential(ctx context.Context, e *env, args []string) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		cmd, _ := findCommand("credential")
		fmt.Fprintf(e.stdout, "usage: tokendesk %s\n\n%s.\n\nIn git's configuration:\n  git config --global credential.helper \"!tokendesk credential\"\n", cmd.usage, cmd.summary)
		return flag.ErrHelp
	}
	if len(args) != 1 {
		return usagef("credential takes one action: get, store or erase")
	}
	req, err := readCredentialRequest(e.stdin)
	if err != nil {
		return err
	}
	switch args[0] {
	case "get":
		return credentialGet(ctx, e, req)
	case "erase":
		if pw := req["password"]; pw != "" && servesProtocol(req) {
			if _, err := e.desk.ForgetAccessToken(ctx, pw); err != nil {
				return err
			}
		}
		return nil
	default: // "store", and actions of future gits
		return nil
	}
}

func credentialGet(ctx context.Context, e *env, req map[string]string) error {
	if !servesProtocol(req) {
		return nil
	}
	cred, err := e.desk.GitCredential(ctx, req["host"], req["username"])
	if errors.Is(err, usecase.ErrNoCredential) {
		// Nothing on stdout: git moves on. Why goes to stderr only when the host is one
		// of ours (git shows it to the user); an unmapped host is none of our business.
		if !strings.Contains(err.Error(), "is not a credential host") {
			fmt.Fprintf(e.stderr, "tokendesk credential: %s\n", redact(strings.ReplaceAll(err.Error(), "usecase: ", "")))
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", req["host"], err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "username=%s\npassword=%s\n", oneLine(cred.Username), oneLine(cred.Password))
	if !cred.ExpiresOn.IsZero() {
		// git 2.41+ drops the credential once expired instead of using it again.
		fmt.Fprintf(&b, "password_expiry_utc=%d\n", cred.ExpiresOn.Unix())
	}
	_, err = io.WriteString(e.stdout, b.String())
	return err
}

// servesProtocol reports whether a token may be sent for req: over https, or plain
// http only to this machine (a token sent in the clear over a network is a token given
// away).
func servesProtocol(req map[string]string) bool {
	switch req["protocol"] {
	case "https":
		return true
	case "http":
		host := req["host"]
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.Trim(host, "[]")
		ip := net.ParseIP(host)
		return strings.EqualFold(host, "localhost") || (ip != nil && ip.IsLoopback())
	}
	return false
}

// readCredentialRequest reads git's key=value lines up to a blank line or the end.
// Repeated keys ("wwwauth[]") keep their last value; none of them is used.
func readCredentialRequest(r io.Reader) (map[string]string, error) {
	req := map[string]string{}
	if r == nil {
		return req, nil
	}
	sc := bufio.NewScanner(io.LimitReader(r, maxCredentialInput))
	sc.Buffer(make([]byte, 4096), maxCredentialInput)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, usagef("credential: git sent %q, not key=value", redact(line))
		}
		req[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("credential: reading git's request: %w", err)
	}
	return req, nil
}

// oneLine keeps a value from breaking the line protocol.
func oneLine(s string) string {
	return strings.NewReplacer("\n", "", "\r", "", "\x00", "").Replace(s)
}
