package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// maxCacheFile bounds what is read: a cache of 10,000 accounts is about 30 MB, and a
// bound keeps a foreign huge file from exhausting memory (it is moved aside instead).
const maxCacheFile = 1 << 30

// maxReadRetries bounds how often a lock-free reader starts over because a writer
// replaced the data file between its reading the index and the records.
const maxReadRetries = 8

// refresh loads the stored records sc selects into cache unless cache already holds
// this version of the index: the common case costs one stat. Reads take no file lock
// (exclusive says whether the caller holds the exclusive one): writers only ever
// rename a complete index into place and never change a byte an index refers to, so a
// reader sees one whole version. Only a holder of the exclusive lock migrates a
// format-1 file, or moves an unreadable index or record aside, after checking it is
// still the same index, so a reader can never push aside a good cache a writer has
// just put in place.
func (s *CacheStore) refresh(ctx context.Context, deadline func() context.Context, cache cacheData, exclusive bool, sc *scope) error {
	upgrade := func() error {
		if s.testHookCorrupt != nil {
			s.testHookCorrupt()
		}
		// Drop a shared lock first (Windows): it cannot be upgraded in place.
		s.lock.Unlock()
		if lerr := s.lockFile(deadline(), ctx, true); lerr != nil {
			return lerr
		}
		exclusive = true
		return nil
	}
	upgraded := false
	defer func() {
		if upgraded {
			s.lock.Unlock()
		}
	}()
	for attempt := 0; ; attempt++ {
		sig, err := statSig(s.path)
		if err != nil {
			return fmt.Errorf("storage: reading the token cache: %w", err)
		}
		if e := s.entry(cache); e != nil && e.sig == sig && e.scope == sc {
			return nil
		}
		if !sig.exists {
			if _, err := os.Stat(s.v1path); err == nil {
				// A cache in format 1: converted once, by a holder of the exclusive lock.
				if !exclusive {
					if err := upgrade(); err != nil {
						return err
					}
					upgraded = true
					continue
				}
				if err := s.migrate(); err != nil {
					return err
				}
				continue
			}
			// Nothing stored (yet, or any more): keep what the cache holds in memory.
			s.remember(cache, sig, 0, sc)
			return nil
		}
		var x *storeIndex
		var rsig fileSig
		if s.idx != nil && s.idxSig == sig {
			x, rsig = s.idx, sig
		} else {
			x, rsig, err = s.readIndex()
		}
		if err != nil && rsig == (fileSig{}) {
			return fmt.Errorf("storage: reading the token cache: %w", err)
		}
		if !rsig.exists {
			continue // removed between stat and open: look again
		}
		if errors.Is(err, errOldIndex) {
			// An index of format 2: converted once, by a holder of the exclusive lock.
			if !exclusive {
				if err := upgrade(); err != nil {
					return err
				}
				upgraded = true
				continue
			}
			if err := s.migrate2(); err != nil {
				return err
			}
			continue
		}
		if _, probe := cache.(*nullCache); probe && err == nil {
			// Summaries: the index is all it needs.
			s.idx, s.idxSig = x, rsig
			s.remember(cache, rsig, x.generation, sc)
			return nil
		}
		var bad damage
		if err == nil {
			var doc []byte
			doc, bad, err = s.loadRecords(x, sc)
			if errors.Is(err, fs.ErrNotExist) && !exclusive && attempt < maxReadRetries {
				continue // a writer compacted the data file meanwhile: read the new index
			}
			if err == nil && bad.none() {
				if derr := cache.Deserialize(doc); derr != nil {
					bad.records = s.undecodable(cache, x, sc)
					if bad.none() {
						err = fmt.Errorf("%w: %w", errCorrupt, derr)
					}
				} else {
					s.idx, s.idxSig = x, rsig
					s.remember(cache, rsig, x.generation, sc)
					return nil
				}
			}
		}
		if !exclusive {
			if err := upgrade(); err != nil {
				return err
			}
			upgraded = true
			if cur, _ := statSig(s.path); cur != rsig {
				continue // replaced meanwhile: read the new index
			}
		}
		if err == nil && !bad.none() {
			if err := s.dropDamage(x, bad); err != nil {
				return err
			}
			continue
		}
		return s.moveAside(cache, sc, err)
	}
}

// readIndex reads and opens the index file, with the signature of exactly the bytes
// read. A missing file gives a zero signature and no error; a file that cannot be read
// whole or opened gives its signature and an errCorrupt error.
func (s *CacheStore) readIndex() (*storeIndex, fileSig, error) {
	raw, sig, err := readFileSig(s.path)
	if err != nil || !sig.exists {
		return nil, sig, err
	}
	x, err := openIndex(s.aead, raw)
	return x, sig, err
}

// currentIndex returns the index on disk now (nil when there is none), reusing the
// last one read or written when the file is unchanged.
func (s *CacheStore) currentIndex() (*storeIndex, fileSig, error) {
	sig, err := statSig(s.path)
	if err != nil {
		return nil, sig, err
	}
	if !sig.exists {
		return nil, sig, nil
	}
	if s.idx != nil && s.idxSig == sig {
		return s.idx, sig, nil
	}
	x, rsig, err := s.readIndex()
	if err != nil {
		return nil, rsig, err
	}
	s.idx, s.idxSig = x, rsig
	return x, rsig, nil
}

// undecodable finds the records whose entries the cache cannot parse, by giving it
// each record on its own. Only a damaged store gets here.
func (s *CacheStore) undecodable(cache cacheData, x *storeIndex, sc *scope) []string {
	var bad []string
	for i := range x.entries {
		e := &x.entries[i]
		if !sc.accountsOnly && !sc.selects(e) {
			continue
		}
		doc, b, err := s.loadRecords(x.only(e), &scope{})
		if err != nil || !b.none() {
			continue
		}
		if cache.Deserialize(doc) != nil {
			bad = append(bad, e.key)
		}
	}
	cache.Deserialize(nil)
	return bad
}

// file gives a zero signature and no error. A file that cannot be read whole gives its
// signature and an errCorrupt error.
func readFileSig(path string) ([]byte, fileSig, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, fileSig{}, nil
	}
	if err != nil {
		return nil, fileSig{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fileSig{}, err
	}
	sig := sigOf(fi)
	if fi.Size() > maxCacheFile {
		return nil, sig, fmt.Errorf("%w: larger than %d MB", errCorrupt, maxCacheFile>>20)
	}
	buf := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, sig, fmt.Errorf("%w: %w", errCorrupt, err)
	}
	return buf, sig, nil
}
