package usecase

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// azureCLIOfferMarker, in the Tokendesk directory, records that the user was offered
// Azure CLI's sign-ins (whatever the answer), so the offer is made once.
const azureCLIOfferMarker = "azure-cli-import-offered"

// PendingAzureCLIImport returns the path of Azure CLI's token cache when the window
// should offer to import it: the file exists, and the user of the Tokendesk directory
// dir was never asked. getenv is os.Getenv outside tests.
func PendingAzureCLIImport(dir string, getenv func(string) string) (string, bool) {
	if _, err := os.Stat(filepath.Join(dir, azureCLIOfferMarker)); !errors.Is(err, os.ErrNotExist) {
		return "", false // asked before, or the directory cannot be read: never nag
	}
	path, err := AzureCLICachePath(getenv)
	if err != nil {
		return "", false
	}
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() || st.Size() == 0 {
		return "", false
	}
	return path, true
}

// RememberAzureCLIOffer records in dir that the offer was made, so it is not made again.
func RememberAzureCLIOffer(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("usecase: remembering the Azure CLI offer: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, azureCLIOfferMarker), []byte("asked\n"), 0o600); err != nil {
		return fmt.Errorf("usecase: remembering the Azure CLI offer: %w", err)
	}
	return nil
}
