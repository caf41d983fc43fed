package storage

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// Format 3 (README.md, "The token cache"): a small sealed index, cache.idx, and the
// records' entries in a data file it names, sealed in blocks. The index file is the
// 16-byte header of format 1 (version 3) followed by a nonce and the sealed index body
// (or the body itself in plaintext mode), the header being GCM's additional data. The
// body is
//
//	data file name | section count | section names (JSON string tokens)
//	| block count | per block: offset | length | nonce (12 bytes) | section | kind
//	| record count | per record: key | home | environment | latest access token expiry
//	| has refresh token | checksum of the entries (uint64) | usernames
//	| Account entry count | piece count | per piece: block | offset | length
//
// (numbers as varints, strings length-prefixed). A block holds pieces of one section:
// a fragment block (kindFrag) is record fragments, `"key":{...}` entries, joined by
// commas, so its plaintext is a run of the section's JSON object as it is; a whole
// block (kindWhole, kindOpaque) is one section value that is not entries, or a payload
// that is not a JSON object. A record's piece is a range of a block's plaintext. Each
// block is sealed under the cache key with the nonce the index holds and "TDKB" as
// additional data: a block cannot be replaced by another or by an older version of
// itself (another nonce) without failing authentication, so the index pins exactly
// one version of every record.
const indexVersion = 3

// blockAD is a block's additional data.
var blockAD = []byte("TDKB")

// blockTarget is the plaintext size a save fills a section's block to before it starts
// another: a short-lived process decrypts the blocks of the accounts it needs (one
// per section), so a block must stay small next to a whole cache (10,000 accounts are
// ~25 MB), and large enough that a whole load opens few of them.
const blockTarget = 64 << 10

// piece is a record's part: a range of a block's plaintext.
type piece struct {
	block          int
	offset, length uint64
}

// indexEntry is one record as the index describes it.
type indexEntry struct {
	key, home, env string
	pieces         []piece
	latestExpiry   int64
	hasRefresh     bool
	hash           uint64 // recordHash of the record's parts
	usernames      []string
	nAccounts      int
}

// blockRef is where a sealed block lies in the data file, and what it holds.
type blockRef struct {
	offset, length uint64
	nonce          [nonceLen]byte
	section        int  // in storeIndex.sections
	kind           byte // kindFrag, kindWhole or kindOpaque
}

// storeIndex is a parsed index.
type storeIndex struct {
	generation uint64
	dataName   string
	sections   []string // JSON string tokens, quotes included ("" for kindOpaque)
	blocks     []blockRef
	entries    []indexEntry
	byKey      map[string]int
	summaries  []AccountSummary // built once, by Summaries
}

func (x *storeIndex) entry(key string) (*indexEntry, bool) {
	if x == nil {
		return nil, false
	}
	if x.byKey == nil {
		x.byKey = make(map[string]int, len(x.entries))
		for i := range x.entries {
			x.byKey[x.entries[i].key] = i
		}
	}
	i, ok := x.byKey[key]
	if !ok {
		return nil, false
	}
	return &x.entries[i], true
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// encodeIndex builds an index body.
func encodeIndex(x *storeIndex) []byte {
	size := 16 + len(x.dataName) + len(x.blocks)*(nonceLen+12)
	for _, sec := range x.sections {
		size += len(sec) + 2
	}
	for i := range x.entries {
		e := &x.entries[i]
		size += len(e.key) + len(e.home) + len(e.env) + 24 + 12*len(e.pieces)
		for _, u := range e.usernames {
			size += len(u) + 2
		}
	}
	b := make([]byte, 0, size)
	b = appendString(b, x.dataName)
	b = binary.AppendUvarint(b, uint64(len(x.sections)))
	for _, sec := range x.sections {
		b = appendString(b, sec)
	}
	b = binary.AppendUvarint(b, uint64(len(x.blocks)))
	for _, bl := range x.blocks {
		b = binary.AppendUvarint(b, bl.offset)
		b = binary.AppendUvarint(b, bl.length)
		b = append(b, bl.nonce[:]...)
		b = binary.AppendUvarint(b, uint64(bl.section))
		b = append(b, bl.kind)
	}
	b = binary.AppendUvarint(b, uint64(len(x.entries)))
	for i := range x.entries {
		e := &x.entries[i]
		b = appendString(b, e.key)
		b = appendString(b, e.home)
		b = appendString(b, e.env)
		b = binary.AppendVarint(b, e.latestExpiry)
		if e.hasRefresh {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
		b = binary.BigEndian.AppendUint64(b, e.hash)
		b = binary.AppendUvarint(b, uint64(len(e.usernames)))
		for _, u := range e.usernames {
			b = appendString(b, u)
		}
		b = binary.AppendUvarint(b, uint64(e.nAccounts))
		b = binary.AppendUvarint(b, uint64(len(e.pieces)))
		for _, p := range e.pieces {
			b = binary.AppendUvarint(b, uint64(p.block))
			b = binary.AppendUvarint(b, p.offset)
			b = binary.AppendUvarint(b, p.length)
		}
	}
	return b
}

var errIndex = errors.New("malformed index")

// indexReader reads an index body; the first error sticks. s, when set, is the
// whole body as a string, so strings are substrings of one copy instead of one
// allocation each (an index of 10,000 accounts holds 40,000 of them).
type indexReader struct {
	b   []byte
	s   string
	err error
}

// str reads a length-prefixed string.
func (r *indexReader) str() string {
	v := r.bytes()
	if r.err != nil || r.s == "" {
		return string(v)
	}
	end := len(r.s) - len(r.b) // r.b is the rest of the body, right after v
	return r.s[end-len(v) : end]
}

func (r *indexReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.err = errIndex
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *indexReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, k := binary.Varint(r.b)
	if k <= 0 {
		r.err = errIndex
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *indexReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if uint64(len(r.b)) < n {
		r.err = errIndex
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *indexReader) fixed(dst []byte) {
	if r.err != nil {
		return
	}
	if len(r.b) < len(dst) {
		r.err = errIndex
		return
	}
	copy(dst, r.b)
	r.b = r.b[len(dst):]
}

// count reads a count of things at least min bytes long each, refusing one the rest
// of the body cannot hold, so a damaged count cannot make a huge allocation.
func (r *indexReader) count(min int) int {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)/min) {
		r.err = errIndex
	}
	return int(n)
}

// parseIndex reads an index body. Every piece is checked to lie within its block,
// so readers can slice blocks without checking again.
func parseIndex(body []byte, aead cipher.AEAD) (*storeIndex, error) {
	r := &indexReader{b: body, s: string(body)}
	x := &storeIndex{dataName: r.str()}
	x.sections = make([]string, r.count(1))
	for i := range x.sections {
		x.sections[i] = r.str()
	}
	x.blocks = make([]blockRef, r.count(nonceLen+4))
	for i := range x.blocks {
		bl := &x.blocks[i]
		bl.offset = r.uvarint()
		bl.length = r.uvarint()
		r.fixed(bl.nonce[:])
		sec := r.uvarint()
		var kind [1]byte
		r.fixed(kind[:])
		bl.kind = kind[0]
		if r.err == nil && (sec >= uint64(len(x.sections)) || bl.kind > kindOpaque || bl.length < overhead(aead)) {
			r.err = errIndex
		}
		bl.section = int(sec)
	}
	x.entries = make([]indexEntry, r.count(16))
	slab := make([]piece, 0, 4*len(x.entries))
	for i := range x.entries {
		e := &x.entries[i]
		e.key = r.str()
		e.home = r.str()
		e.env = r.str()
		e.latestExpiry = r.varint()
		var flag [1]byte
		r.fixed(flag[:])
		e.hasRefresh = flag[0] == 1
		var h [8]byte
		r.fixed(h[:])
		e.hash = binary.BigEndian.Uint64(h[:])
		if nu := r.count(1); nu > 0 && r.err == nil {
			e.usernames = make([]string, nu)
			for j := range e.usernames {
				e.usernames[j] = r.str()
			}
		}
		e.nAccounts = int(r.uvarint())
		np := r.count(3)
		start := len(slab)
		for range np {
			p := piece{block: int(r.uvarint()), offset: r.uvarint(), length: r.uvarint()}
			if r.err != nil {
				break
			}
			if p.block < 0 || p.block >= len(x.blocks) {
				r.err = errIndex
				break
			}
			plain := x.blocks[p.block].length - overhead(aead)
			if p.offset > plain || p.length > plain-p.offset {
				r.err = errIndex
				break
			}
			slab = append(slab, p)
		}
		e.pieces = slab[start:len(slab):len(slab)]
		if r.err != nil {
			break
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = errIndex
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: %w", errCorrupt, r.err)
	}
	return x, nil
}

// errOldIndex marks an index of format 2, which the holder of the exclusive lock
// converts (migrate2).
var errOldIndex = errors.New("storage: token cache index of format 2")

// sealIndex builds an index file. aead nil means plaintext mode.
func sealIndex(aead cipher.AEAD, generation uint64, body []byte) ([]byte, error) {
	return sealVersion(aead, indexVersion, generation, body)
}

// openIndex reverses sealIndex. An index of format 2 gives errOldIndex.
func openIndex(aead cipher.AEAD, file []byte) (*storeIndex, error) {
	h, body, err := open(aead, file)
	if err != nil {
		return nil, err
	}
	switch h.version {
	case indexVersion:
	case indexVersion2:
		return nil, errOldIndex
	default:
		return nil, fmt.Errorf("%w: not an index (version %d)", errCorrupt, h.version)
	}
	x, err := parseIndex(body, aead)
	if err != nil {
		return nil, err
	}
	x.generation = h.generation
	return x, nil
}

// sealBlock appends a block's plaintext, sealed, to dst, filling bl.nonce.
func sealBlock(aead cipher.AEAD, bl *blockRef, dst, plain []byte) ([]byte, error) {
	if aead == nil {
		return append(dst, plain...), nil
	}
	if _, err := rand.Read(bl.nonce[:]); err != nil {
		return nil, fmt.Errorf("storage: random nonce: %w", err)
	}
	return aead.Seal(dst, bl.nonce[:], plain, blockAD), nil
}

// openBlock decrypts a block in place.
func openBlock(aead cipher.AEAD, bl *blockRef, sealed []byte) ([]byte, error) {
	if aead == nil {
		return sealed, nil
	}
	plain, err := aead.Open(sealed[:0], bl.nonce[:], sealed, blockAD)
	if err != nil {
		return nil, fmt.Errorf("%w: a block of records failed authentication (wrong key, tampered or truncated)", errCorrupt)
	}
	return plain, nil
}

// overhead is what sealing adds to a block.
func overhead(aead cipher.AEAD) uint64 {
	if aead == nil {
		return 0
	}
	return uint64(aead.Overhead())
}
