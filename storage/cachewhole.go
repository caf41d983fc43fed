package storage

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// A save that rewrites most records (an import, a cache replaced, every token
// refreshed) writes a new data file straight from the serialized cache: a section's
// fragments lie in the document one after another, joined by commas, which is what a
// block's plaintext is, so runs of them are sealed from the document as they lie, on
// two goroutines, into the one buffer written to the new file. Nothing is copied
// before sealing and no old block is read, which keeps such a save close to format
// 1's seal-and-write of the whole cache.

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

// commitWhole writes every record of recs, the split of doc (order: its fragments in
// document order, from splitOrdered), to a new data file, fsyncs it, then atomically
// replaces the index, which then names only these records, and deletes the old data
// file. A crash before the index is renamed leaves the old index and its data file
// untouched; the new file, referred to by no index, is deleted by the next writer
// (removeOrphans). Writers hold the exclusive lock.
func (s *CacheStore) commitWhole(x *storeIndex, doc []byte, recs map[string]*record, order []fragRef) (fileSig, error) {
	s.removeStaleTemps()
	nx := &storeIndex{generation: 1, dataName: s.newDataName()}
	if x != nil {
		nx.generation = x.generation + 1
	}
	ovh := int(overhead(s.aead))
	p := newPacker(s.aead)

	// Index entries, in the order records first appear in doc, then any without
	// fragments (sorted, for a deterministic index). Every piece starts unplaced.
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
	for _, f := range order {
		if _, ok := slot[f.r]; !ok {
			addEntry(f.r)
		}
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
	pieceOf := func(f fragRef) *piece {
		e := &nx.entries[slot[f.r]]
		if f.account {
			return &e.pieces[len(f.r.parts)+int(f.i)]
		}
		return &e.pieces[f.i]
	}

	// Runs of fragments of one section, in document order, each about blockTarget
	// bytes: the new blocks, packed and sealed straight into the file (writeRuns).
	var runs []wholeRun
	runBytes := 0
	closeRun := func(end int) {
		r := &runs[len(runs)-1]
		r.last = end
		runBytes += r.plain + ovh
	}
	for i, f := range order {
		pt := f.part()
		if !pt.frag {
			continue
		}
		sec := p.section(string(pt.section))
		if n := len(runs); n == 0 || runs[n-1].last >= 0 || runs[n-1].sec != sec {
			if n > 0 && runs[n-1].last < 0 {
				closeRun(i)
			}
			runs = append(runs, wholeRun{first: i, last: -1, sec: sec})
		}
		r := &runs[len(runs)-1]
		at := r.plain
		if i > r.first {
			at++ // the comma before it
		}
		*pieceOf(f) = piece{block: len(runs) - 1, offset: uint64(at), length: uint64(len(pt.value))}
		r.plain = at + len(pt.value)
		if r.plain >= blockTarget {
			closeRun(i + 1)
		}
	}
	if n := len(runs); n > 0 && runs[n-1].last < 0 {
		closeRun(len(order))
	}

	// The runs' blocks first, then whatever is left (whole sections, fragments copied
	// while splitting, lone small fragments) packed behind them.
	nonces := make([]byte, nonceLen*len(runs))
	if s.aead != nil {
		if _, err := rand.Read(nonces); err != nil {
			return fileSig{}, fmt.Errorf("storage: random nonce: %w", err)
		}
	}
	off := 0
	for i, r := range runs {
		bl := blockRef{offset: uint64(off), length: uint64(r.plain + ovh), section: r.sec, kind: kindFrag}
		copy(bl.nonce[:], nonces[i*nonceLen:])
		p.blocks = append(p.blocks, bl)
		off += r.plain + ovh
	}
	// The packer's blocks follow the runs' in the file.
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
		p.blocks[i].offset += uint64(runBytes)
	}
	nx.sections, nx.blocks = p.sections, p.blocks

	// The index is known now: seal it while the data file is written.
	var file []byte
	var idxErr error
	idxDone := make(chan struct{})
	go func() {
		defer close(idxDone)
		file, idxErr = sealIndex(s.aead, nx.generation, encodeIndex(nx))
	}()
	dataPath := filepath.Join(s.dir, nx.dataName)
	err := s.writeRuns(dataPath, order, runs, nx.blocks[:len(runs)], p.out)
	<-idxDone
	if err == nil {
		err = idxErr
	}
	if err == nil {
		err = writeFileAtomic(s.path, file)
	}
	if err != nil {
		os.Remove(dataPath)
		return fileSig{}, err
	}
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

// writeChunk is the size of the pieces of the new data file sealed and written one
// after another: small enough to stay in the CPU's cache between the two.
const writeChunk = 1 << 20

// writeRuns creates the data file path (mode 0600; it must not exist) and writes the
// runs' blocks, then tail, fsyncing the file and its directory. One goroutine packs
// and seals the blocks, a chunk at a time, in place in one of two buffers, while this
// one writes the other: no buffer of the whole file, and the sealing hides behind the
// writing. No rename is needed: only an index names a data file, and the index is
// renamed into place after this returns. On error the file is removed.
func (s *CacheStore) writeRuns(path string, order []fragRef, runs []wholeRun, blocks []blockRef, tail []byte) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600)
	if err != nil {
		return writeErr(path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(path)
		}
	}()
	free := make(chan []byte, 2)
	free <- nil
	free <- nil
	full := make(chan []byte)
	go func() {
		defer close(full)
		for i := 0; i < len(runs); {
			// A chunk: blocks i..j-1, at least one, at most writeChunk bytes unless
			// one block is larger.
			j, size := i, uint64(0)
			for j < len(runs) && (j == i || size+blocks[j].length <= writeChunk) {
				size += blocks[j].length
				j++
			}
			buf := slices.Grow((<-free)[:0], int(size))
			for k := i; k < j; k++ {
				r, bl := runs[k], &blocks[k]
				start := len(buf)
				for n, fr := range order[r.first:r.last] {
					if n > 0 {
						buf = append(buf, ',')
					}
					buf = append(buf, fr.part().value...)
				}
				if s.aead != nil {
					// In place: the buffer holds room for the tag.
					sealed := s.aead.Seal(buf[start:start], bl.nonce[:], buf[start:], blockAD)
					buf = buf[:start+len(sealed)]
				}
			}
			full <- buf
			i = j
		}
	}()
	for buf := range full {
		if err == nil {
			if _, werr := f.Write(buf); werr != nil {
				err = writeErr(path, werr)
			}
		}
		free <- buf
	}
	if err != nil {
		return err
	}
	if _, err = f.Write(tail); err != nil {
		return writeErr(path, err)
	}
	if err = f.Sync(); err != nil {
		return writeErr(path, err)
	}
	if err = f.Close(); err != nil {
		return writeErr(path, err)
	}
	syncDir(filepath.Dir(path))
	return nil
}
