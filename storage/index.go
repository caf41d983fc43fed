package storage

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// Format 2 (README.md, "The token cache"): a small sealed index, cache.idx, and the
// sealed records in a data file it names. The index file is the 16-byte header of
// format 1 (version 2) followed by a nonce and the sealed index body (or the body
// itself in plaintext mode), the header being GCM's additional data. The body is
//
//	data file name | record count | per record: key | home | environment
//	| offset | length | nonce (12 bytes) | latest access token expiry | has refresh token
//	| checksum of the entries (uint64) | usernames | the record's Account entries
//
// (numbers as varints, strings and byte strings length-prefixed). A record in the data
// file is its entries (encodeItems) sealed under the cache key with the nonce the
// index holds and "TDKR" + key as additional data: a record cannot be moved to another
// account, and an older version of it (another nonce) fails authentication, so the
// index pins exactly one version of every record.
const indexVersion = 2

// recordAD is a record's additional data.
func recordAD(key string) []byte { return append([]byte("TDKR"), key...) }

// indexEntry is one record as the index describes it. Byte slices point into the
// decrypted index.
type indexEntry struct {
	key, home, env string
	offset, length uint64
	nonce          [nonceLen]byte
	latestExpiry   int64
	hasRefresh     bool
	hash           uint64 // recordHash of the record's entries
	usernames      []string
	accounts       []byte // encodeItems of the record's Account entries
}

// storeIndex is a parsed index.
type storeIndex struct {
	generation uint64
	dataName   string
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
func encodeIndex(dataName string, entries []indexEntry) []byte {
	size := 16 + len(dataName)
	for i := range entries {
		e := &entries[i]
		size += len(e.key) + len(e.home) + len(e.env) + len(e.accounts) + 64
		for _, u := range e.usernames {
			size += len(u) + 2
		}
	}
	b := make([]byte, 0, size)
	b = appendString(b, dataName)
	b = binary.AppendUvarint(b, uint64(len(entries)))
	for i := range entries {
		e := &entries[i]
		b = appendString(b, e.key)
		b = appendString(b, e.home)
		b = appendString(b, e.env)
		b = binary.AppendUvarint(b, e.offset)
		b = binary.AppendUvarint(b, e.length)
		b = append(b, e.nonce[:]...)
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
		b = appendBytes(b, e.accounts)
	}
	return b
}

var errIndex = errors.New("malformed index")

// indexReader reads an index body; the first error sticks.
type indexReader struct {
	b   []byte
	err error
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

// parseIndex reads an index body.
func parseIndex(body []byte) (*storeIndex, error) {
	r := &indexReader{b: body}
	x := &storeIndex{dataName: string(r.bytes())}
	n := r.uvarint()
	if r.err == nil && n > uint64(len(body)) {
		r.err = errIndex
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: %w", errCorrupt, r.err)
	}
	x.entries = make([]indexEntry, n)
	for i := range x.entries {
		e := &x.entries[i]
		e.key = string(r.bytes())
		e.home = string(r.bytes())
		e.env = string(r.bytes())
		e.offset = r.uvarint()
		e.length = r.uvarint()
		r.fixed(e.nonce[:])
		e.latestExpiry = r.varint()
		var flag [1]byte
		r.fixed(flag[:])
		e.hasRefresh = flag[0] == 1
		var h [8]byte
		r.fixed(h[:])
		e.hash = binary.BigEndian.Uint64(h[:])
		nu := r.uvarint()
		if r.err == nil && nu > uint64(len(r.b)) {
			r.err = errIndex
		}
		for range nu {
			e.usernames = append(e.usernames, string(r.bytes()))
		}
		e.accounts = r.bytes()
		if r.err != nil {
			return nil, fmt.Errorf("%w: %w", errCorrupt, r.err)
		}
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %w", errCorrupt, errIndex)
	}
	return x, nil
}

// sealIndex builds an index file. aead nil means plaintext mode.
func sealIndex(aead cipher.AEAD, generation uint64, body []byte) ([]byte, error) {
	return sealVersion(aead, indexVersion, generation, body)
}

// openIndex reverses sealIndex.
func openIndex(aead cipher.AEAD, file []byte) (*storeIndex, error) {
	h, body, err := open(aead, file)
	if err != nil {
		return nil, err
	}
	if h.version != indexVersion {
		return nil, fmt.Errorf("%w: not an index (version %d)", errCorrupt, h.version)
	}
	x, err := parseIndex(body)
	if err != nil {
		return nil, err
	}
	x.generation = h.generation
	return x, nil
}

// sealRecord seals a record's plaintext for the data file, filling e.nonce.
func sealRecord(aead cipher.AEAD, e *indexEntry, plain []byte) ([]byte, error) {
	if aead == nil {
		return plain, nil
	}
	if _, err := rand.Read(e.nonce[:]); err != nil {
		return nil, fmt.Errorf("storage: random nonce: %w", err)
	}
	return aead.Seal(nil, e.nonce[:], plain, recordAD(e.key)), nil
}

// openRecord decrypts a record in place.
func openRecord(aead cipher.AEAD, e *indexEntry, sealed []byte) ([]byte, error) {
	if aead == nil {
		return sealed, nil
	}
	plain, err := aead.Open(sealed[:0], e.nonce[:], sealed, recordAD(e.key))
	if err != nil {
		return nil, fmt.Errorf("%w: a record failed authentication (wrong key, tampered or truncated)", errCorrupt)
	}
	return plain, nil
}
