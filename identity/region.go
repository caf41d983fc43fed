package identity

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// regionDetectTimeout bounds the instance metadata request: outside Azure nothing
// answers at that address, and MSAL warns the wait "could hang for minutes".
const regionDetectTimeout = 2 * time.Second

// regionHosts are the public-cloud hosts whose regional endpoint is
// <region>.login.microsoft.com (MSAL's list).
var regionHosts = map[string]bool{
	"login.microsoftonline.com": true, "login.microsoft.com": true,
	"login.windows.net": true, "sts.windows.net": true,
}

// region returns the region to use, detecting it once when WithAzureRegion asked for
// AutoDetectRegion: REGION_NAME first, then the instance metadata endpoint. "" means
// the central endpoint.
func (w *transport) regionToUse(ctx context.Context) string {
	configured := w.cfg.azureRegion
	if configured == "" {
		return ""
	}
	if configured != AutoDetectRegion {
		return strings.ToLower(strings.ReplaceAll(configured, " ", ""))
	}
	w.regionOnce.Do(func() { w.region = w.detectRegion(ctx) })
	return w.region
}

func (w *transport) detectRegion(ctx context.Context) string {
	if r := strings.ToLower(strings.ReplaceAll(os.Getenv("REGION_NAME"), " ", "")); r != "" {
		return r
	}
	endpoint := w.cfg.regionEndpoint
	if endpoint == "" {
		endpoint = defaultIMDS
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), regionDetectTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return ""
	}
	req.Header.Set("Metadata", "true")
	// A bare client: the metadata endpoint is link-local, never behind a proxy.
	resp, err := (&http.Client{Timeout: regionDetectTimeout}).Do(req)
	if err != nil {
		w.cfg.logger.Info("identity: region auto-detection found no instance metadata; using the central endpoint", "error", err)
		return ""
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256))
	if err != nil || resp.StatusCode != http.StatusOK {
		return ""
	}
	r := strings.ToLower(strings.TrimSpace(string(body)))
	for _, c := range r {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return "" // not a region name: ignore rather than build a bogus host
		}
	}
	return r
}

// regionalAuthority returns info with its token endpoint moved to the regional host,
// or info itself when no region applies (MSAL: only Entra, only for client
// credentials).
func (w *transport) regionalAuthority(ctx context.Context, info *authorityInfo, kind authorityKind) *authorityInfo {
	if kind != kindEntra {
		return info
	}
	region := w.regionToUse(ctx)
	if region == "" {
		return info
	}
	host := strings.ToLower(info.Host)
	regional := region + "." + host
	if regionHosts[host] {
		regional = region + ".login.microsoft.com"
	}
	c := *info
	c.TokenEndpoint = w.spec.scheme + "://" + regional + "/" + info.Tenant + "/oauth2/v2.0/token"
	return &c
}
