package storage

import (
	"crypto/cipher"
	"fmt"
)

// Format 2, read only to convert it (migrate2): the index held one entry per record,
// each record sealed on its own in the data file with its own nonce and "TDKR" + key
// as additional data, its entries encoded as items (section, key, value, each
// length-prefixed). Format 3 seals records in blocks and keeps each section's entries
// of a record as one fragment, so a whole load opens a few hundred blocks instead of
// ten thousand records and assembles long runs instead of single entries.
const indexVersion2 = 2

// recordV2 is one record of a format-2 index.
type recordV2 struct {
	key            string
	offset, length uint64
	nonce          [nonceLen]byte
	accounts       []byte // items
}

// parseIndexV2 reads a format-2 index body: its data file and records.
func parseIndexV2(body []byte) (string, []recordV2, error) {
	r := &indexReader{b: body}
	dataName := string(r.bytes())
	recs := make([]recordV2, r.count(16))
	for i := range recs {
		e := &recs[i]
		e.key = string(r.bytes())
		r.bytes() // home
		r.bytes() // environment
		e.offset = r.uvarint()
		e.length = r.uvarint()
		r.fixed(e.nonce[:])
		r.varint() // latest expiry
		var skip [9]byte
		r.fixed(skip[:]) // has refresh token, checksum
		for range r.count(1) {
			r.bytes() // usernames
		}
		e.accounts = r.bytes()
		if r.err != nil {
			break
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = errIndex
	}
	if r.err != nil {
		return "", nil, fmt.Errorf("%w: %w", errCorrupt, r.err)
	}
	return dataName, recs, nil
}

// openRecordV2 decrypts a format-2 record and returns its entries and Account entries
// as parts.
func openRecordV2(aead cipher.AEAD, e *recordV2, sealed []byte) ([]part, error) {
	plain := sealed
	if aead != nil {
		var err error
		plain, err = aead.Open(sealed[:0], e.nonce[:], sealed, append([]byte("TDKR"), e.key...))
		if err != nil {
			return nil, fmt.Errorf("%w: a record failed authentication", errCorrupt)
		}
	}
	items, err := decodeItemsV2(plain)
	if err != nil {
		return nil, err
	}
	acc, err := decodeItemsV2(e.accounts)
	if err != nil {
		return nil, err
	}
	return collapse(append(items, acc...)), nil
}

// decodeItemsV2 reads format 2's items; they point into b.
func decodeItemsV2(b []byte) ([]item, error) {
	var out []item
	for len(b) > 0 {
		var it item
		var err error
		if it.section, b, err = readBytes(b); err != nil {
			return nil, err
		}
		if it.key, b, err = readBytes(b); err != nil {
			return nil, err
		}
		if it.value, b, err = readBytes(b); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}
