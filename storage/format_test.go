package storage

import (
	"bytes"
	"testing"
)

func TestSealOpenRoundTrip(t *testing.T) {
	aead, err := newAEAD(bytes.Repeat([]byte{7}, keyLen))
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte(`{"AccessToken":{}}`)
	a, err := seal(aead, 42, payload)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := seal(aead, 42, payload)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same payload are identical: the nonce is not fresh")
	}
	h, got, err := open(aead, a)
	if err != nil || h.generation != 42 || !bytes.Equal(got, payload) {
		t.Fatalf("open: %+v %q %v", h, got, err)
	}
	if _, err := newAEAD(make([]byte, 16)); err == nil {
		t.Fatal("accepted a 128-bit key")
	}
	// A sealed store refuses a plaintext file and a plaintext store a sealed one.
	plain, _ := seal(nil, 1, payload)
	if _, _, err := open(aead, plain); err == nil {
		t.Fatal("sealed store read a plaintext file")
	}
	if _, _, err := open(nil, a); err == nil {
		t.Fatal("plaintext store read a sealed file")
	}
}

// FuzzOpenCacheFile feeds arbitrary files to the cache file reader: it must never panic
// and must accept only files sealed with the key.
func FuzzOpenCacheFile(f *testing.F) {
	aead, err := newAEAD(bytes.Repeat([]byte{7}, keyLen))
	if err != nil {
		f.Fatal(err)
	}
	good, _ := seal(aead, 1, []byte(`{"AccessToken":{}}`))
	plain, _ := seal(nil, 1, []byte(`{}`))
	f.Add(good)
	f.Add(good[:headerLen+nonceLen])
	f.Add(plain)
	f.Add([]byte(fileMagic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := bytes.Clone(data)
		h, payload, err := open(aead, in)
		if err != nil {
			return
		}
		// Accepted: it must be an authentic file, which a fuzzer cannot forge except by
		// replaying the seed; re-sealing must give back the same payload.
		again, err := seal(aead, h.generation, payload)
		if err != nil {
			t.Fatal(err)
		}
		if _, p2, err := open(aead, again); err != nil || !bytes.Equal(p2, payload) {
			t.Fatalf("re-sealed file does not open: %v", err)
		}
		_, _, _ = open(nil, data)
	})
}
