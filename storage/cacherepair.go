package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// What the store does with files it cannot read, and the conversion of the formats
// before this one. Only a holder of the exclusive lock gets here.

// corruptSuffix names a file moved aside.
func (s *CacheStore) corruptSuffix() string {
	return ".corrupt-" + s.cfg.now().UTC().Format("20060102T150405.000000000Z")
}

// moveAside renames an unreadable index, and every data file beside it, out of the way
// so a fresh cache can start, keeping them for inspection, and tells the user. The
// in-memory cache is kept as is.
func (s *CacheStore) moveAside(cache cacheData, sc *scope, cause error) error {
	if err := s.moveIndexAside(cause); err != nil {
		return err
	}
	s.remember(cache, fileSig{}, 0, sc)
	return nil
}

func (s *CacheStore) moveIndexAside(cause error) error {
	suffix := s.corruptSuffix()
	aside := s.path + suffix
	if err := os.Rename(s.path, aside); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("storage: the token cache %s cannot be read (%v) and could not be moved aside: %w",
			s.path, cause, err)
	}
	data, _ := filepath.Glob(s.dataPrefix + "*")
	for _, d := range data {
		if !strings.Contains(d[len(s.dataPrefix):], ".") {
			os.Rename(d, d+suffix)
		}
	}
	s.idx = nil
	s.notify(NoticeCacheCorrupt, aside, fmt.Sprintf(
		"The token cache could not be read (%v). It was moved to %s and a new cache was started; "+
			"sign in again to the affected accounts.", cause, aside))
	return nil
}

// dropDamage takes what cannot be read out of the index (under the exclusive lock):
// the pieces that lie in blocks that cannot be read, and the records whose entries
// the cache cannot parse. What is dropped is written aside for inspection (each block
// with the keys of the records that had pieces in it), and the user is told which
// accounts lost tokens and may have to sign in again. A record keeps its pieces in
// other blocks (an access token lost in a damaged block is then refreshed with the
// refresh token, no sign-in); every other record stays as it is.
func (s *CacheStore) dropDamage(x *storeIndex, d damage) error {
	badBlock := make([]bool, len(x.blocks))
	for _, b := range d.blocks {
		badBlock[b] = true
	}
	badRecord := map[string]bool{}
	for _, k := range d.records {
		badRecord[k] = true
	}
	var keep []indexEntry
	var names []string
	byBlock := map[int][]string{}
	var blocks []int
	for _, e := range x.entries {
		lost := false
		var pieces []piece
		for _, pc := range e.pieces {
			if !badRecord[e.key] && !badBlock[pc.block] {
				pieces = append(pieces, pc)
				continue
			}
			lost = true
			if byBlock[pc.block] == nil {
				blocks = append(blocks, pc.block)
			}
			if k := byBlock[pc.block]; len(k) == 0 || k[len(k)-1] != e.key {
				byBlock[pc.block] = append(k, e.key)
			}
			// What the index says of the lost section is no longer true.
			switch x.sections[x.blocks[pc.block].section] {
			case string(secAccessToken):
				e.latestExpiry = 0
			case string(secRefreshToken):
				e.hasRefresh = false
			case string(secAccount):
				e.nAccounts = 0
			}
		}
		if !lost {
			keep = append(keep, e)
			continue
		}
		names = append(names, firstOr(e.usernames, e.key))
		if len(pieces) > 0 {
			e.pieces = pieces
			keep = append(keep, e)
		}
	}
	var aside []byte
	f, _ := os.Open(filepath.Join(s.dir, x.dataName))
	for _, b := range blocks {
		bl := x.blocks[b]
		aside = appendString(aside, strings.Join(byBlock[b], "\n"))
		buf := make([]byte, min(bl.length, 64<<20))
		if f != nil {
			n, _ := f.ReadAt(buf, int64(bl.offset))
			buf = buf[:n]
		}
		aside = appendBytes(aside, buf)
	}
	if f != nil {
		f.Close()
	}
	path, err := s.setAside(names, aside)
	if err != nil {
		return err
	}
	if _, err := s.commit(x, keep, nil); err != nil {
		return err
	}
	s.noticeDropped(names, path)
	return nil
}

// setAside writes the sealed bytes of records that cannot be read to a file beside
// the index.
func (s *CacheStore) setAside(names []string, sealed []byte) (string, error) {
	path := s.path + ".records" + s.corruptSuffix()
	return path, writeFileAtomic(path, sealed)
}

func (s *CacheStore) noticeDropped(names []string, path string) {
	s.notify(NoticeCacheCorrupt, path, fmt.Sprintf(
		"Cached tokens of %s could not be read; they were moved to %s. "+
			"The other accounts are untouched; sign in again to the affected ones if asked.",
		strings.Join(names, ", "), path))
}

func firstOr(list []string, fallback string) string {
	if len(list) > 0 && list[0] != "" {
		return list[0]
	}
	return fallback
}

// migrate converts a cache of format 1 (one sealed file holding everything) into the
// per-account store, under the exclusive lock; the old file is kept renamed as
// cache.bin.migrated. One that cannot be read is moved aside, as an unreadable index.
func (s *CacheStore) migrate() error {
	raw, sig, err := readFileSig(s.v1path)
	if err != nil && sig == (fileSig{}) {
		return fmt.Errorf("storage: reading the token cache: %w", err)
	}
	if !sig.exists {
		return nil
	}
	var payload []byte
	if err == nil {
		_, payload, err = open(s.aead, raw)
	}
	if err != nil {
		aside := s.v1path + s.corruptSuffix()
		if rerr := os.Rename(s.v1path, aside); rerr != nil {
			return fmt.Errorf("storage: the token cache %s cannot be read (%v) and could not be moved aside: %w",
				s.v1path, err, rerr)
		}
		s.notify(NoticeCacheCorrupt, aside, fmt.Sprintf(
			"The token cache could not be read (%v). It was moved to %s and a new cache was started; "+
				"sign in again to the affected accounts.", err, aside))
		return nil
	}
	if _, err := s.commit(nil, nil, splitCache(payload)); err != nil {
		return err
	}
	if err := os.Rename(s.v1path, s.v1path+".migrated"); err != nil {
		return fmt.Errorf("storage: the token cache was converted, but %s could not be renamed: %w", s.v1path, err)
	}
	return nil
}

// migrate2 converts an index of format 2 (one sealed record per account) and its data
// file into format 3, under the exclusive lock: every record is decrypted, the cache
// reassembled and written again in blocks; the old data file is deleted once the new
// index is in place. Records that cannot be read are set aside as dropRecords does;
// an index that cannot be read is moved aside like any unreadable index.
func (s *CacheStore) migrate2() error {
	raw, sig, err := readFileSig(s.path)
	if err != nil && sig == (fileSig{}) {
		return fmt.Errorf("storage: reading the token cache: %w", err)
	}
	if !sig.exists {
		return nil
	}
	var h header
	var body []byte
	if err == nil {
		h, body, err = open(s.aead, raw)
	}
	if err == nil && h.version != indexVersion2 {
		return nil // converted meanwhile, or not an index: the caller looks again
	}
	var dataName string
	var recs []recordV2
	if err == nil {
		dataName, recs, err = parseIndexV2(body)
	}
	if err != nil {
		return s.moveIndexAside(err)
	}
	data, _ := os.ReadFile(filepath.Join(s.dir, dataName))
	groups := make([][]part, 0, len(recs))
	var names []string
	var aside []byte
	for i := range recs {
		e := &recs[i]
		var sealed []byte
		if e.offset <= uint64(len(data)) && e.length <= uint64(len(data))-e.offset {
			sealed = data[e.offset : e.offset+e.length]
		}
		parts, err := openRecordV2(s.aead, e, append([]byte(nil), sealed...))
		if sealed == nil || err != nil {
			names = append(names, e.key)
			aside = appendString(aside, e.key)
			aside = appendBytes(aside, sealed)
			continue
		}
		groups = append(groups, parts)
	}
	var path string
	if len(names) > 0 {
		if path, err = s.setAside(names, aside); err != nil {
			return err
		}
	}
	if _, err := s.commit(&storeIndex{generation: h.generation}, nil, splitCache(assemble(groups...))); err != nil {
		return err
	}
	if len(names) > 0 {
		s.noticeDropped(names, path)
	}
	return nil
}
