package storage

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/tokendesk/tokendesk/identity"
)

// What a save writes: which records changed (by a split of the serialized cache,
// or by what identity says changed), and merges for narrowed caches. cachewrite.go
// writes them.

// save writes what changed in cache: the records sc selects that differ from what the
// cache loaded, and the index. Records outside sc are left as they are (a record the
// cache holds entries of without having loaded it is merged, never replaced). A cache
// that changed nothing the index does not already say writes nothing.
func (s *CacheStore) save(cache cacheData, sc *scope) error {
	if sc.accountsOnly {
		return errors.New("storage: the account listing is read-only")
	}
	tc, _ := cache.(*identity.TokenCache)
	if tc != nil && sc == fullScope {
		if done, err := s.saveChanged(tc); done || err != nil {
			return err
		}
	}
	x, _, err := s.currentIndex()
	if err != nil {
		return fmt.Errorf("storage: reading the token cache index: %w", err)
	}
	var payload []byte
	var recs map[string]*record
	var order []fragRef
	var spec *wholeWriter
	lost, split := false, false
	if tc != nil && sc == fullScope {
		// Identity says where every entry goes as it writes it: no need to split what
		// it wrote, and a new data file can be sealed and written meanwhile.
		var newSpec func() *wholeWriter
		if s.expectWhole(x) {
			newSpec = s.startSpec
		}
		ls := newLayoutSplit(newSpec)
		feed := ls.feed()
		hint := 0
		if x != nil && len(x.entries) > 0 {
			// The live blocks hold the last save's entries, nearly all of its bytes.
			n := x.liveSize()
			hint = n + n/16 + 64<<10
		}
		doc, sections, ok := tc.SerializeEach(hint, feed.entry)
		feed.wait()
		if ok {
			payload = doc
			recs, order, lost, split = ls.finish(payload, sections)
			spec = ls.spec
			if split {
				s.layoutSplits++
			} else if spec != nil {
				spec.abort()
				spec = nil
			}
		}
	}
	if payload == nil {
		if payload, err = cache.Serialize(); err != nil {
			return fmt.Errorf("storage: serializing the token cache: %w", err)
		}
	}
	whole := sc == fullScope && len(payload) >= wholeMin
	if !split {
		if whole && s.expectWhole(x) {
			// Most records will likely change: write the new data file beside the split.
			spec = s.startSpec()
		}
		recs, order, lost = splitOrdered(payload, sc == fullScope, spec)
	}
	var keep []indexEntry
	deleted := false
	if x != nil {
		keep = make([]indexEntry, 0, len(x.entries))
		for _, e := range x.entries {
			if _, ok := recs[e.key]; ok {
				continue // decided below
			}
			if sc.selects(&e) {
				deleted = true
				continue
			}
			keep = append(keep, e)
		}
	}
	fresh := map[string]*record{}
	for k, r := range recs {
		old, had := x.entry(k)
		if had && !sc.selects(old) {
			fresh[k] = s.mergeRecord(x, old, r)
			continue
		}
		if had && old.hash == r.hash {
			keep = append(keep, *old) // unchanged: not rewritten
			continue
		}
		fresh[k] = r
	}
	whole = whole && 2*len(fresh) >= len(recs)
	s.lastWhole, s.wholeHint = whole, false
	if spec != nil && (!whole || lost) {
		spec.abort()
		spec = nil
	}
	if x != nil && len(fresh) == 0 && !deleted {
		// The index on disk already describes this cache: nothing to write.
		s.remember(cache, s.idxSig, x.generation, sc)
		s.trackChanges(tc, sc)
		return nil
	}
	var sig fileSig
	if whole {
		// Most records changed: a new data file straight from payload beats packing
		// them into blocks appended to the old one (and compacting it after).
		sig, err = s.commitWhole(x, recs, order, spec)
	} else {
		sig, err = s.commit(x, keep, fresh)
	}
	if err != nil {
		return err
	}
	var gen uint64 // commit left the new index in s.idx
	if s.idx != nil {
		gen = s.idx.generation
	}
	s.remember(cache, sig, gen, sc)
	s.trackChanges(tc, sc)
	return nil
}

// trackChanges asks a whole TokenCache just saved to record which accounts change
// from now on, for its next save (saveChanged).
func (s *CacheStore) trackChanges(tc *identity.TokenCache, sc *scope) {
	if tc != nil && sc == fullScope {
		tc.TrackChanges()
	}
}

// saveChanged saves a whole TokenCache by the accounts identity says changed since
// its last save: only those are serialized, split and written, so one account's
// refresh costs one small record and the index, not a serialization and split of
// every account. It reports false (and has written nothing) when it cannot vouch for
// the result: identity cannot say (nothing tracked since a load, or sections of
// other MSAL apps), the index changed since, or the serialization holds records other
// than those asked for. The whole save then runs.
func (s *CacheStore) saveChanged(tc *identity.TokenCache) (bool, error) {
	se := s.entry(tc)
	if se == nil || se.scope != fullScope {
		return false, nil
	}
	x, sig, err := s.currentIndex()
	if err != nil || x == nil || sig != se.sig {
		return false, nil
	}
	changed, ok := tc.ChangedAccounts()
	if !ok {
		return false, nil
	}
	if 2*len(changed) >= len(x.entries) && x.liveSize() >= wholeMin {
		// Most accounts changed (every token refreshed): the whole save, writing a
		// new data file beside its split, is cheaper than these by accounts.
		s.wholeHint = true
		return false, nil
	}
	if len(changed) == 0 {
		s.accountSaves++
		return true, nil
	}
	recs := splitCache(tc.SerializeAccounts(changed))
	for k, r := range recs {
		if !changed[k] && !(k == "" && onlyEmptySections(r)) {
			return false, nil // filed otherwise than identity said
		}
	}
	keep := make([]indexEntry, 0, len(x.entries))
	for _, e := range x.entries {
		if !changed[e.key] {
			keep = append(keep, e)
		}
	}
	fresh := map[string]*record{}
	for k, r := range recs {
		if !changed[k] {
			continue
		}
		if old, had := x.entry(k); had && old.hash == r.hash {
			keep = append(keep, *old)
			continue
		}
		fresh[k] = r
	}
	sig, err = s.commit(x, keep, fresh)
	if err != nil {
		return true, err
	}
	s.remember(tc, sig, s.idx.generation, fullScope)
	tc.TrackChanges()
	s.accountSaves++
	return true, nil
}

// startSpec starts a writer of a new data file for a whole save expected to change
// most records (nil if the file cannot be created: the save then writes it after).
func (s *CacheStore) startSpec() *wholeWriter {
	w, err := startWhole(s.aead, filepath.Join(s.dir, s.newDataName()))
	if err != nil {
		return nil
	}
	return w
}

// expectWhole reports whether a whole save of the cache of index x will likely change
// most records: the first save of a cache, one right after a save that did, or one
// saveChanged saw most accounts change for.
func (s *CacheStore) expectWhole(x *storeIndex) bool {
	return x == nil || len(x.entries) == 0 || s.lastWhole || s.wholeHint
}

// liveSize is the size of x's blocks.
func (x *storeIndex) liveSize() int {
	n := 0
	for _, bl := range x.blocks {
		n += int(bl.length)
	}
	return n
}

// onlyEmptySections reports whether the shared record r holds nothing but sections
// without entries: what serializing some accounts gives for the sections none of
// them has entries in.
func onlyEmptySections(r *record) bool {
	for _, p := range r.parts {
		if p.frag || string(p.value) != "{}" {
			return false
		}
	}
	return len(r.accounts) == 0
}

// mergeRecord overlays r's entries on the stored record old, which the cache did not
// load, so entries of an account outside a narrowed cache are never dropped.
func (s *CacheStore) mergeRecord(x *storeIndex, old *indexEntry, r *record) *record {
	doc, bad, err := s.loadRecords(x.only(old), &scope{})
	if err != nil || !bad.none() {
		return r // unreadable: the new entries alone are better than nothing
	}
	base := splitCache(doc)[old.key]
	if base == nil {
		return r
	}
	m := *r
	m.parts = collapse(overlay(expand(base.parts), expand(r.parts)))
	m.accounts = collapse(overlay(expand(base.accounts), expand(r.accounts)))
	m.nAccounts = len(m.accounts)
	m.usernames = nil
	for _, u := range append(append([]string(nil), r.usernames...), base.usernames...) {
		if !contains(m.usernames, u) {
			m.usernames = append(m.usernames, u)
		}
	}
	m.latestExpiry = max(r.latestExpiry, base.latestExpiry)
	m.hasRefresh = r.hasRefresh || base.hasRefresh
	m.hash = 0
	return &m
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
