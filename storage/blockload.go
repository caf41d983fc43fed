package storage

import (
	"bytes"
	"cmp"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
)

// Loading assembles the cache document straight from the blocks: a fragment block's
// plaintext is a run of its section's object as it is, so a whole load lays the
// document out from the index alone and decrypts every block into its place in it, on
// two goroutines. Only a block that holds entries the load does not want (those of
// other accounts, or dead ones a later save replaced) is decrypted aside and its
// wanted pieces copied.

// chunk is what one block gives the document: all of its plaintext (direct) or some
// of its pieces.
type chunk struct {
	block  int
	direct bool
	pieces []piece // unless direct, by offset
	at     []int   // where each piece (or, direct, the plaintext) goes in the document
}

// damage is what a load could not read: blocks that are missing or fail
// authentication, and records whose entries the cache cannot parse.
type damage struct {
	blocks  []int
	records []string
}

func (d damage) none() bool { return len(d.blocks) == 0 && len(d.records) == 0 }

// loadRecords decrypts the records sc selects and assembles them into one cache
// document. Blocks that cannot be read are returned in bad; a missing data file is an
// fs.ErrNotExist error (a writer compacted it).
func (s *CacheStore) loadRecords(x *storeIndex, sc *scope) (doc []byte, bad damage, err error) {
	ovh := overhead(s.aead)
	// Which pieces of which blocks are wanted, and by whom.
	want := make([][]piece, len(x.blocks))
	livePieces := make([]int, len(x.blocks))
	accountSec := slices.Index(x.sections, string(secAccount))
	for i := range x.entries {
		e := &x.entries[i]
		chosen := sc.accountsOnly || sc.selects(e)
		for _, p := range e.pieces {
			livePieces[p.block]++
			if !chosen || (sc.accountsOnly && x.blocks[p.block].section != accountSec) {
				continue
			}
			want[p.block] = append(want[p.block], p)
		}
	}
	// The document's layout, section by section in the index's order.
	type secLayout struct {
		frags []int // blocks with wanted fragments
		whole int   // the last whole block wanted, or -1
	}
	secs := make([]secLayout, len(x.sections))
	for i := range secs {
		secs[i].whole = -1
	}
	for b := range x.blocks {
		if len(want[b]) == 0 {
			continue
		}
		bl := &x.blocks[b]
		switch bl.kind {
		case kindOpaque:
			// A payload that was not a JSON object is the whole document.
			chunks := []*chunk{{block: b, direct: true, at: []int{0}}}
			out := make([]byte, bl.length-ovh)
			if err := s.fill(x, chunks, out); err != nil {
				return nil, damage{}, err
			}
			if chunks[0].block < 0 {
				return nil, damage{blocks: []int{b}}, nil
			}
			return out, damage{}, nil
		case kindWhole:
			secs[bl.section].whole = b
		default:
			secs[bl.section].frags = append(secs[bl.section].frags, b)
		}
	}
	// An upper bound of the document's size: the layout below reslices within it.
	size := 2
	var chunks []*chunk
	for si := range secs {
		sl := &secs[si]
		if len(sl.frags) == 0 && sl.whole < 0 {
			continue
		}
		size += len(x.sections[si]) + 4
		if len(sl.frags) == 0 {
			size += int(x.blocks[sl.whole].length - ovh)
			continue
		}
		for _, b := range sl.frags {
			for _, p := range want[b] {
				size += int(p.length) + 1
			}
		}
	}
	out := make([]byte, 0, size)
	out = append(out, '{')
	first := true
	for si := range secs {
		sl := &secs[si]
		if len(sl.frags) == 0 && sl.whole < 0 {
			continue
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, x.sections[si]...)
		out = append(out, ':')
		if len(sl.frags) == 0 {
			n := int(x.blocks[sl.whole].length - ovh)
			chunks = append(chunks, &chunk{block: sl.whole, direct: true, at: []int{len(out)}})
			out = out[:len(out)+n]
			continue
		}
		out = append(out, '{')
		firstPiece := true
		for _, b := range sl.frags {
			plain := x.blocks[b].length - ovh
			ps := want[b]
			var sum uint64
			for _, p := range ps {
				sum += p.length
			}
			c := &chunk{block: b}
			if len(ps) == livePieces[b] && sum+uint64(len(ps)-1) == plain {
				c.direct = true
				if !firstPiece {
					out = append(out, ',')
				}
				c.at = []int{len(out)}
				out = out[:len(out)+int(plain)]
				firstPiece = false
			} else {
				slices.SortFunc(ps, func(a, b piece) int { return cmp.Compare(a.offset, b.offset) })
				c.pieces = ps
				c.at = make([]int, len(ps))
				for j, p := range ps {
					if !firstPiece {
						out = append(out, ',')
					}
					c.at[j] = len(out)
					out = out[:len(out)+int(p.length)]
					firstPiece = false
				}
			}
			chunks = append(chunks, c)
		}
		out = append(out, '}')
	}
	out = append(out, '}')
	if err := s.fill(x, chunks, out); err != nil {
		return nil, damage{}, err
	}
	for _, c := range chunks {
		if c.block < 0 {
			bad.blocks = append(bad.blocks, -c.block-1)
		}
	}
	return out, bad, nil
}

// fill reads the chunks' blocks from the data file and decrypts them into out. A
// block that cannot be read or fails authentication has its chunk's block set to
// -1-block. A missing data file is an fs.ErrNotExist error.
func (s *CacheStore) fill(x *storeIndex, chunks []*chunk, out []byte) error {
	if len(chunks) == 0 {
		return nil
	}
	f, err := os.Open(filepath.Join(s.dir, x.dataName))
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := uint64(fi.Size())
	var total uint64
	for _, c := range chunks {
		total += x.blocks[c.block].length
	}
	// Many blocks: the file mapped (or read whole) beats a read per block. Writers
	// never shorten a data file below what an index refers to, so the mapping stays
	// valid; should the file be cut short anyway, the fault is an error, not a crash.
	var whole []byte
	mapped := false
	if total > size/4 && size <= maxCacheFile {
		if m, err := mapFile(f, int(size)); err == nil {
			whole, mapped = m, true
			defer unmapFile(m)
		} else {
			whole = make([]byte, size)
			if _, err := io.ReadFull(f, whole); err != nil {
				return err
			}
		}
	}
	sealed := make([][]byte, len(chunks))
	for i, c := range chunks {
		bl := &x.blocks[c.block]
		if bl.offset > size || bl.length > size-bl.offset {
			continue
		}
		if whole != nil {
			sealed[i] = whole[bl.offset : bl.offset+bl.length]
			continue
		}
		buf := make([]byte, bl.length)
		if _, err := f.ReadAt(buf, int64(bl.offset)); err == nil {
			sealed[i] = buf
		}
	}
	var faulted atomic.Bool
	work := func(from, to int) {
		if mapped {
			defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
			defer func() {
				if recover() != nil {
					faulted.Store(true)
				}
			}()
		}
		for i := from; i < to; i++ {
			c := chunks[i]
			b := sealed[i]
			if mapped && !c.direct && b != nil {
				b = bytes.Clone(b) // decrypted in place, and the mapping is read-only
			}
			if b == nil || !s.fillChunk(x, c, b, out) {
				c.block = -1 - c.block
			}
		}
	}
	// A whole cache is most of a load's work in AES-GCM: two cores halve it.
	if total >= parallelOpen && runtime.GOMAXPROCS(0) > 1 && s.aead != nil {
		half, sum := len(chunks), uint64(0)
		for i, c := range chunks {
			if sum >= total/2 {
				half = i
				break
			}
			sum += x.blocks[c.block].length
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(half, len(chunks))
		}()
		work(0, half)
		wg.Wait()
	} else {
		work(0, len(chunks))
	}
	if faulted.Load() {
		return errors.New("storage: the token cache's data file was cut short while it was read")
	}
	return nil
}

// parallelOpen is the sealed size above which a load decrypts on two goroutines.
const parallelOpen = 1 << 20

// fillChunk decrypts one block into out: in place when the chunk is direct, else in
// its own buffer, copying the wanted pieces. It reports whether the block opened.
func (s *CacheStore) fillChunk(x *storeIndex, c *chunk, sealed, out []byte) bool {
	bl := &x.blocks[c.block]
	if c.direct {
		n := int(bl.length - overhead(s.aead))
		dst := out[c.at[0] : c.at[0] : c.at[0]+n]
		if s.aead == nil {
			copy(out[c.at[0]:c.at[0]+n], sealed)
			return true
		}
		_, err := s.aead.Open(dst, bl.nonce[:], sealed, blockAD)
		return err == nil
	}
	plain, err := openBlock(s.aead, bl, sealed)
	if err != nil {
		return false
	}
	for j, p := range c.pieces {
		copy(out[c.at[j]:], plain[p.offset:p.offset+p.length])
	}
	return true
}

// only is x with just the entry e: to load one record.
func (x *storeIndex) only(e *indexEntry) *storeIndex {
	return &storeIndex{dataName: x.dataName, sections: x.sections, blocks: x.blocks, entries: []indexEntry{*e}}
}
