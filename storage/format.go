package storage

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// The cache file is
//
//	magic "TDKC" | version 1 | mode | 2 reserved zero bytes | generation (uint64, big endian)
//	| nonce (12 bytes) | AES-256-GCM ciphertext and tag
//
// for mode modeSealed, or the 16-byte header followed by the payload itself for
// modePlain (only with WithPlaintext). The whole header is GCM's additional data, so a
// changed version, mode or generation fails authentication like a changed ciphertext.
// The generation counts writes; together with size, mtime and inode it tells a reader
// whether the file changed since it last loaded it.
const (
	fileMagic   = "TDKC"
	fileVersion = 1
	headerLen   = 16
	nonceLen    = 12
	keyLen      = 32

	modeSealed byte = 1
	modePlain  byte = 2
)

// errCorrupt marks a cache file that cannot be read back: wrong key, tampering,
// truncation or a foreign file. The store moves such a file aside.
var errCorrupt = errors.New("storage: token cache file is corrupt or was sealed with another key")

type header struct {
	version    byte
	mode       byte
	generation uint64
}

func (h header) marshal() []byte {
	b := make([]byte, headerLen)
	copy(b, fileMagic)
	b[4] = h.version
	b[5] = h.mode
	binary.BigEndian.PutUint64(b[8:], h.generation)
	return b
}

func parseHeader(b []byte) (header, error) {
	if len(b) < headerLen || string(b[:4]) != fileMagic {
		return header{}, fmt.Errorf("%w: not a Tokendesk cache file", errCorrupt)
	}
	if b[4] != fileVersion && b[4] != indexVersion2 && b[4] != indexVersion {
		return header{}, fmt.Errorf("%w: unknown version %d", errCorrupt, b[4])
	}
	if (b[5] != modeSealed && b[5] != modePlain) || b[6] != 0 || b[7] != 0 {
		return header{}, fmt.Errorf("%w: bad header", errCorrupt)
	}
	return header{version: b[4], mode: b[5], generation: binary.BigEndian.Uint64(b[8:])}, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != keyLen {
		return nil, fmt.Errorf("storage: cache key is %d bytes, want %d", len(key), keyLen)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal builds a cache file. aead nil means plaintext mode. A fresh random 96-bit nonce
// per write keeps GCM safe for 2^32 writes under one key (NIST SP 800-38D), far beyond
// any cache's life.
func seal(aead cipher.AEAD, generation uint64, payload []byte) ([]byte, error) {
	return sealVersion(aead, fileVersion, generation, payload)
}

// sealVersion is seal for a file of format version (1: the whole cache, 2: an index).
func sealVersion(aead cipher.AEAD, version byte, generation uint64, payload []byte) ([]byte, error) {
	if aead == nil {
		h := header{version: version, mode: modePlain, generation: generation}.marshal()
		return append(h, payload...), nil
	}
	h := header{version: version, mode: modeSealed, generation: generation}.marshal()
	out := make([]byte, headerLen+nonceLen, headerLen+nonceLen+len(payload)+aead.Overhead())
	copy(out, h)
	nonce := out[headerLen : headerLen+nonceLen]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("storage: random nonce: %w", err)
	}
	return aead.Seal(out, nonce, payload, h), nil
}

// open reverses seal. A sealed file needs aead; a plaintext store (aead nil) reads only
// plaintext files, and a sealed store only sealed ones, so a file never silently changes
// protection.
func open(aead cipher.AEAD, file []byte) (header, []byte, error) {
	h, err := parseHeader(file)
	if err != nil {
		return h, nil, err
	}
	switch {
	case aead == nil && h.mode == modePlain:
		return h, file[headerLen:], nil
	case aead != nil && h.mode == modeSealed:
		if len(file) < headerLen+nonceLen+aead.Overhead() {
			return h, nil, fmt.Errorf("%w: truncated", errCorrupt)
		}
		nonce := file[headerLen : headerLen+nonceLen]
		// Decrypt in place: the file buffer is ours, and a second 25 MB buffer would
		// cost as much time as the decryption.
		ct := file[headerLen+nonceLen:]
		payload, err := aead.Open(ct[:0], nonce, ct, file[:headerLen])
		if err != nil {
			return h, nil, fmt.Errorf("%w: authentication failed (wrong key, tampered or truncated)", errCorrupt)
		}
		return h, payload, nil
	default:
		return h, nil, fmt.Errorf("%w: file mode %d does not match the store", errCorrupt, h.mode)
	}
}
