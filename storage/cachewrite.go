package storage

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// compactSlack is how much dead space the data file may hold beyond its live records
// before a write copies the live ones into a new file.
const compactSlack = 1 << 20

// blockPacker packs records' pieces into sealed blocks, one block being filled per
// section, each sealed once it reaches blockTarget bytes.
type blockPacker struct {
	aead     cipher.AEAD
	sections []string
	secIdx   map[string]int
	blocks   []blockRef // every block of the new index; new ones are appended
	out      []byte     // the new blocks, sealed, one after another
	fills    map[int]*blockFill
}

// blockFill is a fragment block being filled.
type blockFill struct {
	plain   []byte
	waiting []*piece // pieces in it, told their block number when it is sealed
}

func newPacker(aead cipher.AEAD) *blockPacker {
	return &blockPacker{aead: aead, secIdx: map[string]int{}, fills: map[int]*blockFill{}}
}

// section returns the number of a section, adding it when new.
func (p *blockPacker) section(name string) int {
	i, ok := p.secIdx[name]
	if !ok {
		i = len(p.sections)
		p.sections = append(p.sections, name)
		p.secIdx[name] = i
	}
	return i
}

// add puts a piece's bytes into a block of its section, filling in pc.
func (p *blockPacker) add(sec int, kind byte, value []byte, pc *piece) error {
	if kind != kindFrag {
		pc.offset, pc.length = 0, uint64(len(value))
		return p.seal(sec, kind, value, []*piece{pc})
	}
	f := p.fills[sec]
	if f == nil {
		f = &blockFill{} // grown as needed: a save of one account fills a few KB
		p.fills[sec] = f
	}
	if len(f.plain) > 0 {
		f.plain = append(f.plain, ',')
	}
	pc.offset, pc.length = uint64(len(f.plain)), uint64(len(value))
	f.plain = append(f.plain, value...)
	f.waiting = append(f.waiting, pc)
	if len(f.plain) >= blockTarget {
		return p.flushSection(sec)
	}
	return nil
}

func (p *blockPacker) flushSection(sec int) error {
	f := p.fills[sec]
	if f == nil || len(f.plain) == 0 {
		return nil
	}
	err := p.seal(sec, kindFrag, f.plain, f.waiting)
	f.plain, f.waiting = f.plain[:0], nil
	return err
}

// flush seals every block being filled.
func (p *blockPacker) flush() error {
	for sec := range p.sections {
		if err := p.flushSection(sec); err != nil {
			return err
		}
	}
	return nil
}

func (p *blockPacker) seal(sec int, kind byte, plain []byte, waiting []*piece) error {
	bl := blockRef{offset: uint64(len(p.out)), section: sec, kind: kind}
	out, err := sealBlock(p.aead, &bl, p.out, plain)
	if err != nil {
		return err
	}
	bl.length = uint64(len(out)) - bl.offset
	p.out = out
	for _, w := range waiting {
		w.block = len(p.blocks)
	}
	p.blocks = append(p.blocks, bl)
	return nil
}

// commit appends the fresh records to the data file in new blocks (a new file when
// there is none, or when dead space has grown past the live records), fsyncs it, and
// then atomically replaces the index with keep plus the fresh records. A crash before
// the index is renamed leaves the old index, whose blocks are untouched: data files
// are only appended to, and a compacted one is deleted only after the index naming
// its successor is in place. Writers hold the exclusive lock.
func (s *CacheStore) commit(x *storeIndex, keep []indexEntry, fresh map[string]*record) (fileSig, error) {
	s.removeStaleTemps()
	nx := &storeIndex{generation: 1}
	if x != nil {
		nx.dataName, nx.generation = x.dataName, x.generation+1
	}
	if nx.dataName == "" {
		nx.dataName = s.newDataName()
	}
	p := newPacker(s.aead)
	// The kept records' blocks and sections, renumbered; the others are dropped.
	nx.entries = make([]indexEntry, 0, len(keep)+len(fresh))
	if len(keep) > 0 {
		renum := make([]int, len(x.blocks))
		n := 0
		for i := range keep {
			n += len(keep[i].pieces)
		}
		slab := make([]piece, 0, n)
		for _, e := range keep {
			start := len(slab)
			for _, pc := range e.pieces {
				if renum[pc.block] == 0 {
					bl := x.blocks[pc.block]
					bl.section = p.section(x.sections[bl.section])
					p.blocks = append(p.blocks, bl)
					renum[pc.block] = len(p.blocks)
				}
				pc.block = renum[pc.block] - 1
				slab = append(slab, pc)
			}
			e.pieces = slab[start:len(slab):len(slab)]
			nx.entries = append(nx.entries, e)
		}
	}
	firstNew := len(p.blocks)
	keys := make([]string, 0, len(fresh))
	est := 0
	for k, r := range fresh {
		keys = append(keys, k)
		for _, part := range r.parts {
			est += len(part.value) + 1
		}
		for _, part := range r.accounts {
			est += len(part.value) + 1
		}
	}
	p.out = make([]byte, 0, est+est/blockTarget*32+64)
	sort.Strings(keys)
	for _, k := range keys {
		r := fresh[k]
		if r.hash == 0 {
			r.hash = recordHash(r.parts, r.accounts)
		}
		e := indexEntry{key: k, home: r.home, env: r.env, latestExpiry: r.latestExpiry, hash: r.hash,
			hasRefresh: r.hasRefresh, usernames: r.usernames, nAccounts: r.nAccounts,
			pieces: make([]piece, len(r.parts)+len(r.accounts))}
		for j, part := range r.parts {
			if err := p.add(p.section(string(part.section)), partKind(part), part.value, &e.pieces[j]); err != nil {
				return fileSig{}, err
			}
		}
		for j, part := range r.accounts {
			if err := p.add(p.section(string(part.section)), partKind(part), part.value, &e.pieces[len(r.parts)+j]); err != nil {
				return fileSig{}, err
			}
		}
		nx.entries = append(nx.entries, e)
	}
	if err := p.flush(); err != nil {
		return fileSig{}, err
	}
	nx.sections, nx.blocks = p.sections, p.blocks
	dataPath := filepath.Join(s.dir, nx.dataName)
	oldData := ""
	if len(p.out) > 0 || len(nx.entries) > 0 {
		var live uint64
		for _, e := range nx.entries {
			for _, pc := range e.pieces {
				live += pc.length
			}
		}
		var size uint64
		if fi, err := os.Stat(dataPath); err == nil {
			size = uint64(fi.Size())
		}
		if size > 0 && size+uint64(len(p.out)) > 2*live+compactSlack {
			// Appending would leave more dead bytes than live ones: write the live
			// blocks and the new ones to a new file instead (one write, not two, when
			// most records changed).
			newName := s.newDataName()
			if err := s.compactData(dataPath, p.out, firstNew, filepath.Join(s.dir, newName), nx); err != nil {
				return fileSig{}, err
			}
			oldData, nx.dataName = dataPath, newName
		} else {
			base, err := appendData(dataPath, p.out)
			if err != nil {
				return fileSig{}, err
			}
			for i := firstNew; i < len(nx.blocks); i++ {
				nx.blocks[i].offset += base
			}
		}
	}
	file, err := sealIndex(s.aead, nx.generation, encodeIndex(nx))
	if err != nil {
		return fileSig{}, err
	}
	if err := writeFileAtomic(s.path, file); err != nil {
		return fileSig{}, err
	}
	if oldData != "" {
		os.Remove(oldData)
	}
	s.removeOrphans(nx.dataName)
	sig, err := statSig(s.path)
	if err != nil {
		// Saved, but unknown signature: forget it so the next access re-reads.
		sig = fileSig{exists: true, size: -1}
	}
	s.idx, s.idxSig = nx, sig
	return sig, nil
}

// compactData writes the live pieces of nx's records into a new data file at to,
// updating nx's blocks and pieces: blocks numbered from firstNew are the new ones, in
// fresh (at their offsets there), the others are in the data file at from. A block
// every byte of which is live is copied as it is, sealed; the live pieces of the
// others are decrypted and packed into new blocks. A block that cannot be decrypted
// is copied as it is too: the next reader finds and reports it.
func (s *CacheStore) compactData(from string, fresh []byte, firstNew int, to string, nx *storeIndex) error {
	blocks := nx.blocks
	// The kept blocks, read one by one: after a save that changed most records they
	// are a small part of the file.
	kept := make([][]byte, firstNew)
	if firstNew > 0 {
		f, err := os.Open(from)
		if err != nil {
			return err
		}
		defer f.Close()
		var n uint64
		for _, bl := range blocks[:firstNew] {
			n += bl.length
		}
		buf := make([]byte, 0, n)
		for b, bl := range blocks[:firstNew] {
			at := len(buf)
			buf = buf[:at+int(bl.length)]
			if _, err := f.ReadAt(buf[at:], int64(bl.offset)); err != nil {
				return fmt.Errorf("storage: compacting %s: %w", from, err)
			}
			kept[b] = buf[at:]
		}
	}
	sealedOf := func(b int) []byte {
		if b < firstNew {
			return kept[b]
		}
		bl := blocks[b]
		return fresh[bl.offset : bl.offset+bl.length]
	}
	livePieces := make([]int, len(blocks))
	liveBytes := make([]uint64, len(blocks))
	for _, e := range nx.entries {
		for _, pc := range e.pieces {
			livePieces[pc.block]++
			liveBytes[pc.block] += pc.length
		}
	}
	p := newPacker(s.aead)
	for _, sec := range nx.sections {
		p.section(sec)
	}
	var total uint64
	for _, bl := range blocks {
		total += bl.length
	}
	p.out = make([]byte, 0, total)
	renum := make([]int, len(blocks)) // 1 + the new number of a block copied as it is
	opened := make([][]byte, len(blocks))
	repacked := false
	// First every block's fate, then the packing, so copies do not shift the packer's
	// numbering of the blocks it is filling.
	for b, bl := range blocks {
		plain := bl.length - overhead(s.aead)
		if bl.kind != kindFrag || liveBytes[b]+uint64(livePieces[b]-1) == plain {
			copyBlock(p, bl, sealedOf(b))
			renum[b] = len(p.blocks)
			continue
		}
		var err error
		if opened[b], err = openBlock(s.aead, &bl, bytes.Clone(sealedOf(b))); err != nil {
			copyBlock(p, bl, sealedOf(b))
			renum[b] = len(p.blocks)
		}
	}
	for i := range nx.entries {
		for j := range nx.entries[i].pieces {
			pc := &nx.entries[i].pieces[j]
			if r := renum[pc.block]; r != 0 {
				pc.block = r - 1
				continue
			}
			if err := p.add(blocks[pc.block].section, kindFrag, opened[pc.block][pc.offset:pc.offset+pc.length], pc); err != nil {
				return err
			}
			repacked = true
		}
	}
	if err := p.flush(); err != nil {
		return err
	}
	nx.blocks = p.blocks
	if firstNew == 0 && !repacked {
		// Every block new and copied as it is (most records changed): fresh is the file.
		return writeFileAtomic(to, fresh)
	}
	return writeFileAtomic(to, p.out)
}

// copyBlock appends the block bl, sealed as it is, to p's output.
func copyBlock(p *blockPacker, bl blockRef, sealed []byte) {
	nb := bl
	nb.offset = uint64(len(p.out))
	p.out = append(p.out, sealed...)
	p.blocks = append(p.blocks, nb)
}

// appendData appends b to the data file (creating it, mode 0600) and fsyncs it,
// returning the offset b starts at. Bytes a killed writer appended before are left
// where they are: no index refers to them.
func appendData(path string, b []byte) (uint64, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|oNoFollow, 0o600)
	if err != nil {
		return 0, writeErr(path, err)
	}
	defer f.Close()
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, writeErr(path, err)
	}
	if len(b) == 0 {
		return uint64(end), nil
	}
	if _, err := f.Write(b); err != nil {
		f.Truncate(end)
		return 0, writeErr(path, err)
	}
	if err := f.Sync(); err != nil {
		return 0, writeErr(path, err)
	}
	return uint64(end), nil
}

// newDataName names a new data file.
func (s *CacheStore) newDataName() string {
	var b [8]byte
	rand.Read(b[:])
	return filepath.Base(s.dataPrefix) + hex.EncodeToString(b[:])
}

// removeStaleTemps deletes temporary files a killed writer left behind. Only the
// holder of the exclusive lock writes, and that is us, so every temporary file present
// now is stale.
func (s *CacheStore) removeStaleTemps() {
	for _, pat := range []string{s.path + ".tmp-*", s.dataPrefix + "*.tmp-*", s.v1path + ".tmp-*"} {
		stale, _ := filepath.Glob(pat)
		for _, f := range stale {
			os.Remove(f)
		}
	}
}

// removeOrphans deletes data files no index refers to: left by a writer killed
// during a compaction. Called by the exclusive lock's holder after its commit.
func (s *CacheStore) removeOrphans(current string) {
	files, _ := filepath.Glob(s.dataPrefix + "*")
	for _, f := range files {
		name := filepath.Base(f)
		if name != current && !strings.Contains(name[len(filepath.Base(s.dataPrefix)):], ".") {
			os.Remove(f)
		}
	}
}
