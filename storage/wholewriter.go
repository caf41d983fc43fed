package storage

import (
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
)

// wholeWriter writes a new data file from a serialized cache's fragments, given in
// document order (push), on its own goroutine: it cuts them into runs of one section
// of about blockTarget bytes, packs each run into a buffer, seals it there in place and
// writes the buffer out a megabyte at a time. A save that expects to rewrite most
// records (expectWhole) starts one before splitting, and the splitter pushes each
// fragment as soon as it is final, so the sealing and writing run beside the split on
// the second core; should the save turn out to change few records, or a fragment
// turn out not to lie in the document (a copy the split made), the writer is aborted
// and its file deleted. Otherwise it is started after the split and given every
// fragment at once.
type wholeWriter struct {
	aead     cipher.AEAD
	path     string
	f        *os.File
	batches  chan []pushed
	done     chan struct{}
	batch    []pushed
	bytes    int
	aborted  atomic.Bool
	finished bool

	// Written by the goroutine, read after done.
	err      error
	size     uint64 // bytes written
	sections []string
	blocks   []blockRef
	pos      []piece // where each pushed fragment went, in push order
}

// pushed is a fragment handed to the writer: its section (a JSON string token) and
// its bytes, which must not change until the writer is done.
type pushed struct{ section, value []byte }

const pushBatch = 256 << 10

// startWhole creates the new data file path and the writer's goroutine.
func startWhole(aead cipher.AEAD, path string) (*wholeWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600)
	if err != nil {
		return nil, writeErr(path, err)
	}
	w := &wholeWriter{aead: aead, path: path, f: f, batches: make(chan []pushed, 4), done: make(chan struct{})}
	go w.run()
	return w, nil
}

// push hands the writer the next fragment.
func (w *wholeWriter) push(section, value []byte) {
	w.batch = append(w.batch, pushed{section, value})
	w.bytes += len(value)
	if w.bytes >= pushBatch {
		w.batches <- w.batch
		w.batch, w.bytes = nil, 0
	}
}

// finish waits for the writer to write every fragment pushed, reporting its error.
// The file stays open for the rest of the save (tail).
func (w *wholeWriter) finish() error {
	if !w.finished {
		w.finished = true
		if len(w.batch) > 0 {
			w.batches <- w.batch
			w.batch = nil
		}
		close(w.batches)
	}
	<-w.done
	return w.err
}

// abort stops the writer and deletes its file.
func (w *wholeWriter) abort() {
	w.aborted.Store(true)
	w.finish()
	w.f.Close()
	os.Remove(w.path)
}

// tail appends b after the blocks written, then fsyncs the file and its directory.
func (w *wholeWriter) tail(b []byte) error {
	if _, err := w.f.Write(b); err != nil {
		return writeErr(w.path, err)
	}
	if err := w.f.Sync(); err != nil {
		return writeErr(w.path, err)
	}
	if err := w.f.Close(); err != nil {
		return writeErr(w.path, err)
	}
	syncDir(filepath.Dir(w.path))
	return nil
}

func (w *wholeWriter) run() {
	defer close(w.done)
	ovh := int(overhead(w.aead))
	secIdx := map[string]int{}
	var buf []byte // sealed blocks not yet written, then the run being packed
	runStart := -1 // where the open run's plaintext starts in buf
	runSec := -1   // its section
	firstPos := 0  // its first fragment's place in pos
	closeRun := func() {
		if runStart < 0 {
			return
		}
		bl := blockRef{offset: w.size + uint64(runStart), section: runSec, kind: kindFrag}
		if w.aead != nil {
			if _, err := rand.Read(bl.nonce[:]); err != nil && w.err == nil {
				w.err = fmt.Errorf("storage: random nonce: %w", err)
			}
			buf = slices.Grow(buf, ovh)
			sealed := w.aead.Seal(buf[runStart:runStart], bl.nonce[:], buf[runStart:], blockAD)
			buf = buf[:runStart+len(sealed)]
		}
		bl.length = uint64(len(buf) - runStart)
		for i := firstPos; i < len(w.pos); i++ {
			w.pos[i].block = len(w.blocks)
		}
		w.blocks = append(w.blocks, bl)
		runStart = -1
		if len(buf) >= writeChunk {
			w.write(buf)
			buf = buf[:0]
		}
	}
	for batch := range w.batches {
		if w.aborted.Load() || w.err != nil {
			continue
		}
		for _, fr := range batch {
			sec, ok := secIdx[string(fr.section)]
			if !ok {
				sec = len(w.sections)
				w.sections = append(w.sections, string(fr.section))
				secIdx[w.sections[sec]] = sec
			}
			if runStart >= 0 && (sec != runSec || len(buf)-runStart >= blockTarget) {
				closeRun()
			}
			if runStart < 0 {
				runStart, runSec, firstPos = len(buf), sec, len(w.pos)
			} else {
				buf = append(buf, ',')
			}
			w.pos = append(w.pos, piece{offset: uint64(len(buf) - runStart), length: uint64(len(fr.value))})
			buf = append(buf, fr.value...)
		}
	}
	if w.aborted.Load() || w.err != nil {
		return
	}
	closeRun()
	w.write(buf)
}

// write writes b to the file, keeping the first error.
func (w *wholeWriter) write(b []byte) {
	if w.err != nil || len(b) == 0 {
		return
	}
	if _, err := w.f.Write(b); err != nil {
		w.err = writeErr(w.path, err)
		return
	}
	startWriteback(w.f, int64(w.size), int64(len(b)))
	w.size += uint64(len(b))
}
