package storage

import (
	"os"
	"path/filepath"
	"slices"
)

// A save that rewrites most records (an import, a cache replaced, every token
// refreshed) writes a new data file straight from the serialized cache: the split's
// fragments, in document order, are cut into blocks of one section and sealed in
// place a megabyte at a time (wholeWriter), and every record's pieces point there. No
// old block is read and nothing is compared piece by piece; when the save is expected
// to be such a one, the writer seals and writes beside the split, on the other core.

// wholeMin is the serialized size from which a save that changed most records writes
// a new data file (commitWhole). Below it, packing the changed records costs next to
// nothing, and appending them keeps each save's records in blocks of their own, so a
// damaged block costs only what one save wrote.
var wholeMin = 1 << 20

// wholeRun is a run of fragments of one section, order[first:last], to be one block
// of plain bytes of plaintext (the fragments joined by commas).
type wholeRun struct {
	first, last int
	sec, plain  int
}

// commitWhole writes every record of recs, the split of a serialized cache (order:
// its fragments in document order, from splitOrdered), to a new data file, fsyncs
// it, then atomically replaces the index, which then names only these records, and
// deletes the old data file. w, when not nil, has been given every fragment of order
// during the split (and owns the new file); otherwise a writer is started and given
// them now. A crash before the index is renamed leaves the old index and its data
// file untouched; the new file, referred to by no index, is deleted by the next
// writer (removeOrphans). Writers hold the exclusive lock.
func (s *CacheStore) commitWhole(x *storeIndex, recs map[string]*record, order []fragRef, w *wholeWriter) (fileSig, error) {
	s.removeStaleTemps()
	if w != nil {
		if err := w.finish(); err != nil || len(w.pos) != len(order) {
			w.abort() // start again below: this writer's error, if any, recurs
			w = nil
		}
	}
	if w == nil {
		var err error
		if w, err = startWhole(s.aead, filepath.Join(s.dir, s.newDataName())); err != nil {
			return fileSig{}, err
		}
		for _, f := range order {
			pt := f.part()
			w.push(pt.section, pt.value)
		}
		if err := w.finish(); err != nil {
			w.abort()
			return fileSig{}, err
		}
	}
	written := false
	defer func() {
		if !written {
			w.abort()
		}
	}()
	nx := &storeIndex{generation: 1, dataName: filepath.Base(w.path)}
	if x != nil {
		nx.generation = x.generation + 1
	}
	p := newPacker(s.aead)
	for _, sec := range w.sections {
		p.section(sec)
	}
	p.blocks = w.blocks

	// Index entries, in the order records first appear in the document, then any
	// without fragments (sorted, for a deterministic index).
	nx.entries = make([]indexEntry, 0, len(recs))
	slot := make(map[*record]int, len(recs))
	npieces := 0
	for _, r := range recs {
		npieces += len(r.parts) + len(r.accounts)
	}
	slab := make([]piece, npieces)
	for i := range slab {
		slab[i].block = -1
	}
	addEntry := func(r *record) {
		n := len(r.parts) + len(r.accounts)
		slot[r] = len(nx.entries)
		nx.entries = append(nx.entries, indexEntry{key: r.key, home: r.home, env: r.env,
			latestExpiry: r.latestExpiry, hash: r.hash, hasRefresh: r.hasRefresh,
			usernames: r.usernames, nAccounts: r.nAccounts, pieces: slab[:n:n]})
		slab = slab[n:]
	}
	for i, f := range order {
		if _, ok := slot[f.r]; !ok {
			addEntry(f.r)
		}
		e := &nx.entries[slot[f.r]]
		j := int(f.i)
		if f.account {
			j += len(f.r.parts)
		}
		e.pieces[j] = w.pos[i]
	}
	if len(nx.entries) < len(recs) {
		var rest []string
		for k, r := range recs {
			if _, ok := slot[r]; !ok {
				rest = append(rest, k)
			}
		}
		slices.Sort(rest)
		for _, k := range rest {
			addEntry(recs[k])
		}
	}

	// What is not a fragment (whole sections, a payload that is not JSON) is packed
	// into blocks after the writer's.
	firstLeft := len(p.blocks)
	for i := range nx.entries {
		e := &nx.entries[i]
		r := recs[e.key]
		for j := range e.pieces {
			if e.pieces[j].block >= 0 {
				continue
			}
			var pt *part
			if j < len(r.parts) {
				pt = &r.parts[j]
			} else {
				pt = &r.accounts[j-len(r.parts)]
			}
			if err := p.add(p.section(string(pt.section)), partKind(*pt), pt.value, &e.pieces[j]); err != nil {
				return fileSig{}, err
			}
		}
	}
	if err := p.flush(); err != nil {
		return fileSig{}, err
	}
	for i := firstLeft; i < len(p.blocks); i++ {
		p.blocks[i].offset += w.size
	}
	nx.sections, nx.blocks = p.sections, p.blocks

	// The index is known now: seal it while the data file's end is written and synced.
	var file []byte
	var idxErr error
	idxDone := make(chan struct{})
	go func() {
		defer close(idxDone)
		file, idxErr = sealIndex(s.aead, nx.generation, encodeIndex(nx))
	}()
	err := w.tail(p.out)
	<-idxDone
	if err == nil {
		err = idxErr
	}
	if err == nil {
		err = writeFileAtomic(s.path, file)
	}
	if err != nil {
		return fileSig{}, err
	}
	written = true
	if x != nil && x.dataName != "" && x.dataName != nx.dataName {
		os.Remove(filepath.Join(s.dir, x.dataName))
	}
	s.removeOrphans(nx.dataName)
	sig, err := statSig(s.path)
	if err != nil {
		sig = fileSig{exists: true, size: -1} // saved; the next access re-reads
	}
	s.idx, s.idxSig = nx, sig
	return sig, nil
}

// writeChunk is how much of the new data file is sealed before it is written: small
// enough to stay in the CPU's cache between the two.
const writeChunk = 1 << 20
