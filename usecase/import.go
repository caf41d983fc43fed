package usecase

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tokendesk/tokendesk/identity"
)

// AzureCLIClientID is the public client id Azure CLI signs in with; Tokendesk's default
// profile uses it too, so Azure CLI's refresh tokens serve that profile.
const AzureCLIClientID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"

// azureCLICacheFile is the MSAL cache Azure CLI keeps (in plain text) on Linux and macOS.
const azureCLICacheFile = "msal_token_cache.json"

// maxImportSize bounds what an import reads: a cache of thousands of accounts is a few
// tens of MB, and a bound keeps a wrong path (/dev/zero) from eating memory.
const maxImportSize = 256 << 20

// ErrNoAzureCLICache means Azure CLI's token cache was not found (Azure CLI is not
// installed, nobody signed in with it, or it keeps its cache encrypted).
var ErrNoAzureCLICache = errors.New("usecase: no Azure CLI token cache")

// AzureCLICachePath returns where Azure CLI keeps its MSAL token cache:
// $AZURE_CONFIG_DIR/msal_token_cache.json, else ~/.azure/msal_token_cache.json.
// getenv is os.Getenv outside tests.
func AzureCLICachePath(getenv func(string) string) (string, error) {
	dir := getenv("AZURE_CONFIG_DIR")
	if dir == "" {
		home := getenv("HOME")
		if home == "" {
			h, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("usecase: finding Azure CLI's directory: %w", err)
			}
			home = h
		}
		dir = filepath.Join(home, ".azure")
	}
	return filepath.Join(dir, azureCLICacheFile), nil
}

// ReadCacheFile reads an MSAL token cache file for ImportMSALCache, with errors that
// say what to do. The file is only read, never changed. A missing file matches
// os.ErrNotExist.
func ReadCacheFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("usecase: reading token cache %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("usecase: reading token cache %s: %w", path, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("usecase: token cache %s is a directory; give the cache file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxImportSize+1))
	if err != nil {
		return nil, fmt.Errorf("usecase: reading token cache %s: %w", path, err)
	}
	if len(data) > maxImportSize {
		return nil, fmt.Errorf("usecase: token cache %s is larger than %d MiB; is it the right file?", path, maxImportSize>>20)
	}
	return data, nil
}

// ImportResult says what an import brought in.
type ImportResult struct {
	// Accounts are the imported accounts as the account list now shows them.
	Accounts []AccountView
	// Unlisted are the usernames (or home account ids) of imported accounts that no
	// profile lists: their tokens were issued by an authority no profile uses.
	Unlisted []string
	// Added, Updated, Unchanged and KeptNewer count cache entries (see
	// identity.MergeResult): a repeated import adds nothing.
	Added, Updated, Unchanged, KeptNewer int
	// SkippedClients counts, per client id, credentials left out because no profile
	// signs in with that client id.
	SkippedClients map[string]int
}

// ImportMSALCache adds the accounts of data, a token cache written by any MSAL library
// (Azure CLI's, Azure PowerShell's, a script's), to Tokendesk's cache: their accounts and
// refresh tokens (and access and ID tokens) issued to a client id some profile uses. The
// default profile signs in as Azure CLI, so Azure CLI's accounts land there. Importing
// again is harmless, and a refresh token Tokendesk rotated since is kept.
func (d *Desk) ImportMSALCache(ctx context.Context, data []byte) (ImportResult, error) {
	s, err := d.settings(ctx)
	if err != nil {
		return ImportResult{}, err
	}
	var clients []string
	for _, p := range s.Profiles {
		clients = append(clients, p.ClientID)
	}
	m, err := d.deps.Cache.Merge(ctx, data, clients)
	if err != nil {
		return ImportResult{}, fmt.Errorf("usecase: import: %w", err)
	}
	res := ImportResult{Added: m.Added, Updated: m.Updated, Unchanged: m.Unchanged, KeptNewer: m.KeptNewer, SkippedClients: m.SkippedClients}
	if m.Added+m.Updated > 0 {
		d.changed()
	}
	if len(m.Accounts) == 0 {
		return res, nil
	}
	// Say where each account now shows, from the list itself: an account whose
	// authority no profile uses was imported but cannot be used, and the user must know.
	listed, listErr := d.accounts(ctx, s)
	for _, a := range m.Accounts {
		i := slices.IndexFunc(listed, func(v AccountView) bool { return v.Key == AccountKey(a) })
		if i >= 0 {
			res.Accounts = append(res.Accounts, listed[i])
		} else {
			res.Unlisted = append(res.Unlisted, firstNonEmpty(a.Username, a.HomeAccountID))
		}
	}
	if listErr != nil && len(res.Unlisted) > 0 {
		return res, listErr
	}
	return res, nil
}

// ExportMSALCache returns the tokens of the account (a key or username), or of every
// account when accountKey is empty, as an MSAL token cache that MSAL-based tools read.
// The result holds refresh tokens in plain text: the caller must write it where only
// the user can read it.
func (d *Desk) ExportMSALCache(ctx context.Context, accountKey string) ([]byte, error) {
	var accts []identity.Account
	if strings.TrimSpace(accountKey) != "" {
		_, acc, _, err := d.lookup(ctx, accountKey)
		if err != nil {
			return nil, err
		}
		accts = append(accts, acc.Account)
	}
	out, err := d.deps.Cache.Export(ctx, accts)
	if err != nil {
		return nil, fmt.Errorf("usecase: export: %w", err)
	}
	return out, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
