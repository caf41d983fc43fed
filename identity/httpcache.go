package identity

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// httpCacheCapacity bounds the cache, as MSAL's http_cache does (1024 entries), so a
// long-running confidential client cannot grow it without limit.
const httpCacheCapacity = 1024

// HTTPCache remembers HTTP responses that are cheap to fetch but slow a CLI down:
// authority discovery and instance discovery (for a day), plus the throttling state
// (Retry-After windows, repeated identical 400 answers) so a CLI honours them across
// runs (MSAL: http_cache=). It holds no tokens and no personal data: entries are
// discovery documents and OAuth error responses, keyed by hashes of request bodies.
//
// A CLI persists it with MarshalBinary and restores it with UnmarshalBinary. The zero
// value is ready to use, and an HTTPCache is safe for concurrent use.
type HTTPCache struct {
	mu      sync.Mutex
	entries map[string]httpCacheEntry
}

// httpCacheEntry is one remembered response.
type httpCacheEntry struct {
	Status  int         `json:"status"`
	Header  http.Header `json:"header,omitempty"`
	Body    []byte      `json:"body,omitempty"`
	Expires time.Time   `json:"expires"`
}

// httpCacheFile is the serialized form; the version lets a future format be refused.
type httpCacheFile struct {
	Version int                       `json:"version"`
	Entries map[string]httpCacheEntry `json:"entries"`
}

const httpCacheVersion = 1

// NewHTTPCache returns an empty cache.
func NewHTTPCache() *HTTPCache { return &HTTPCache{} }

// get returns the entry for key if it is live at now (the client's clock).
func (c *HTTPCache) get(key string, now time.Time) (httpCacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return httpCacheEntry{}, false
	}
	if !now.Before(e.Expires) {
		delete(c.entries, key)
		return httpCacheEntry{}, false
	}
	return e, true
}

// put remembers e under key, evicting expired entries first and then the entry closest
// to expiry when the cache is full.
func (c *HTTPCache) put(key string, e httpCacheEntry, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[string]httpCacheEntry)
	}
	if _, ok := c.entries[key]; !ok && len(c.entries) >= httpCacheCapacity {
		for k, v := range c.entries {
			if !now.Before(v.Expires) {
				delete(c.entries, k)
			}
		}
		for len(c.entries) >= httpCacheCapacity {
			var oldest string
			var at time.Time
			for k, v := range c.entries {
				if oldest == "" || v.Expires.Before(at) {
					oldest, at = k, v.Expires
				}
			}
			delete(c.entries, oldest)
		}
	}
	c.entries[key] = e
}

// Len reports how many live entries the cache holds.
func (c *HTTPCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	n := 0
	for _, e := range c.entries {
		if now.Before(e.Expires) {
			n++
		}
	}
	return n
}

// MarshalBinary serializes the live entries (encoding.BinaryMarshaler), for a CLI to
// save between runs.
func (c *HTTPCache) MarshalBinary() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	f := httpCacheFile{Version: httpCacheVersion, Entries: make(map[string]httpCacheEntry, len(c.entries))}
	for k, e := range c.entries {
		if now.Before(e.Expires) {
			f.Entries[k] = e
		}
	}
	return json.Marshal(f)
}

// UnmarshalBinary replaces the cache's content with data from MarshalBinary
// (encoding.BinaryUnmarshaler). Corrupt or foreign data is an error and leaves the
// cache unchanged: the worst case is a few extra discovery requests.
func (c *HTTPCache) UnmarshalBinary(data []byte) error {
	var f httpCacheFile
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("identity: http cache: %w", err)
	}
	if f.Version != httpCacheVersion {
		return fmt.Errorf("identity: http cache: unsupported version %d", f.Version)
	}
	if len(f.Entries) > httpCacheCapacity {
		return fmt.Errorf("identity: http cache: %d entries exceed the capacity %d", len(f.Entries), httpCacheCapacity)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = f.Entries
	if c.entries == nil {
		c.entries = make(map[string]httpCacheEntry)
	}
	return nil
}
