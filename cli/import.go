package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tokendesk/tokendesk/usecase"
)

func runImport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("import")
	azureCLI := fs.Bool("azure-cli", false, "import Azure CLI's sign-ins ($AZURE_CONFIG_DIR or ~/.azure, msal_token_cache.json)")
	file := fs.String("msal-cache", "", "import the MSAL token cache `FILE` (any MSAL library's)")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if *azureCLI == (*file != "") {
		return usagef("give exactly one of --azure-cli and --msal-cache FILE")
	}
	path := *file
	if *azureCLI {
		p, err := usecase.AzureCLICachePath(e.getenv)
		if err != nil {
			return err
		}
		path = p
	}
	data, err := usecase.ReadCacheFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if *azureCLI {
			if bin := strings.TrimSuffix(path, ".json") + ".bin"; fileExists(bin) {
				// Azure CLI on Windows encrypts its cache with DPAPI.
				return fmt.Errorf("%w: Azure CLI keeps its token cache encrypted (%s), which Tokendesk cannot read; sign in with \"tokendesk login\" instead", usecase.ErrNoAccount, bin)
			}
			return fmt.Errorf("%w: no Azure CLI token cache at %s (sign in with \"az login\" first, or set AZURE_CONFIG_DIR)", usecase.ErrNoAccount, path)
		}
		return fmt.Errorf("%w: %s does not exist", usecase.ErrNoAccount, path)
	}
	if err != nil {
		return err
	}
	res, err := e.desk.ImportMSALCache(ctx, data)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	clients := make([]string, 0, len(res.SkippedClients))
	for id := range res.SkippedClients {
		clients = append(clients, id)
	}
	sort.Strings(clients)
	for _, id := range clients {
		fmt.Fprintf(e.stderr, "Skipped %d tokens of client id %s: no profile signs in with it (add one with \"client_id\": %q to config.json to import them).\n",
			res.SkippedClients[id], id, id)
	}
	for _, u := range res.Unlisted {
		fmt.Fprintf(e.stderr, "Imported %s, but no profile lists it: its authority is not any profile's.\n", u)
	}
	if len(res.Accounts) == 0 && len(res.Unlisted) == 0 {
		return fmt.Errorf("%w: %s holds no account whose tokens a profile can use", usecase.ErrNoAccount, path)
	}
	for _, a := range res.Accounts {
		fmt.Fprintf(e.stderr, "Imported %s into profile %q.\n", firstNonEmpty(a.Username, a.DisplayName, a.Key), a.Profile)
		// The keys on stdout, as login prints its account's, for scripts.
		fmt.Fprintln(e.stdout, a.Key)
	}
	if res.Added+res.Updated == 0 {
		fmt.Fprintln(e.stderr, "Nothing new: every token was imported before.")
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func runExport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("export")
	file := fs.String("msal-cache", "", "write an MSAL token cache to `FILE` (created with mode 0600)")
	acct := fs.String("account", "", "export only account `A` (a key or username; default: every account)")
	force := fs.Bool("force", false, "replace FILE if it exists")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if *file == "" {
		return usagef("--msal-cache FILE is required")
	}
	key := ""
	if *acct != "" {
		a, err := e.desk.FindAccount(ctx, *acct, "")
		if err != nil {
			return err
		}
		key = a.Key
	}
	data, err := e.desk.ExportMSALCache(ctx, key)
	if err != nil {
		return err
	}
	if err := writePrivateFile(*file, data, *force); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "warning: %s holds refresh tokens UNENCRYPTED: anyone who can read it can act as these accounts. Delete it once the other tool has read it.\n", *file)
	return nil
}

// writePrivateFile writes data to path with mode 0600, through a temporary file in the
// same directory renamed into place, so a reader never sees half a cache and a file
// that was readable by others is replaced rather than rewritten in place. An existing
// path is refused unless force is set: it may be another tool's live cache.
func writePrivateFile(path string, data []byte, force bool) error {
	if st, err := os.Stat(path); err == nil {
		if st.IsDir() {
			return usagef("%s is a directory; give a file name", path)
		}
		if !force {
			return usagef("%s exists; pass --force to replace it", path)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	// CreateTemp already makes the file 0600; Chmod says so for umask-independent reasons.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
