package usecase

import (
	"os"
	"path/filepath"
	"testing"
)

func TestAzureCLIOfferOnce(t *testing.T) {
	home, azDir := t.TempDir(), t.TempDir()
	env := func(k string) string {
		if k == "AZURE_CONFIG_DIR" {
			return azDir
		}
		return ""
	}
	if _, ok := PendingAzureCLIImport(home, env); ok {
		t.Fatal("offered without an Azure CLI cache")
	}
	cache := filepath.Join(azDir, "msal_token_cache.json")
	os.WriteFile(cache, nil, 0o600)
	if _, ok := PendingAzureCLIImport(home, env); ok {
		t.Fatal("offered an empty Azure CLI cache")
	}
	os.WriteFile(cache, []byte(`{"RefreshToken": {}}`), 0o600)
	if path, ok := PendingAzureCLIImport(home, env); !ok || path != cache {
		t.Fatalf("not offered: %q %v", path, ok)
	}
	if err := RememberAzureCLIOffer(filepath.Join(home, "new")); err != nil {
		t.Fatal(err)
	}
	if _, ok := PendingAzureCLIImport(filepath.Join(home, "new"), env); ok {
		t.Fatal("offered twice")
	}
	// HOME is the default when AZURE_CONFIG_DIR is unset.
	got, err := AzureCLICachePath(func(k string) string { return map[string]string{"HOME": "/h"}[k] })
	if err != nil || got != "/h/.azure/msal_token_cache.json" {
		t.Errorf("AzureCLICachePath = %q, %v", got, err)
	}
}
