package storage

import (
	"unicode/utf8"
	"unsafe"

	"github.com/tokendesk/tokendesk/identity"
)

// layoutSplit splits a TokenCache into records while identity serializes it
// (SerializeEach hands it each entry's place and owner as soon as it is written), so
// a whole save reads nothing of the document but the CRCs of its fragments, and, when
// a writer is wanted, the writer seals and writes each fragment on the other core
// while the rest of the cache is still being serialized. The records, their order
// and the writer's fragments are exactly what splitOrdered(doc, true, spec) gives, as
// long as the layout's strings are what a split would read from the document (valid
// UTF-8: invalid bytes are written as U+FFFD); an entry whose are not, or that does
// not fit the document, spoils the split (finish reports !ok) and the caller splits
// the document instead, aborting the writer.
type layoutSplit struct {
	sp       *splitter
	secs     [][]byte // the sections opened, as JSON string tokens
	kinds    []sectionKind
	hasEntry bool // the last section opened has entries
	end      int  // where the last entry ended
	bad      bool

	// newSpec, when set, starts the writer once the document reaches wholeMin bytes.
	newSpec func() *wholeWriter
	spec    *wholeWriter
}

func newLayoutSplit(newSpec func() *wholeWriter) *layoutSplit {
	sp := newSplitter(nil)
	sp.withOrder = true
	return &layoutSplit{sp: sp, newSpec: newSpec}
}

// entry files the entry e of doc, the document so far (SerializeEach's callback).
func (ls *layoutSplit) entry(doc []byte, sections []string, e identity.EntryLayout) {
	if ls.bad {
		return
	}
	if e.Section < len(ls.secs)-1 || e.Section >= len(sections) || e.Start < ls.end || e.End <= e.Start || e.End > len(doc) ||
		!utf8.ValidString(e.Home) || !utf8.ValidString(e.Env) || !utf8.ValidString(e.Extra) {
		ls.bad = true
		return
	}
	ls.sp.doc = doc
	if !ls.openUpTo(sections, e.Section+1) {
		return
	}
	ls.hasEntry, ls.end = true, e.End
	ls.sp.seq++
	ls.sp.entry(ls.secs[e.Section], ls.kinds[e.Section], e.Start, e.End, bytesOf(e.Home), bytesOf(e.Env), bytesOf(e.Extra))
	if ls.newSpec != nil && len(doc) >= wholeMin {
		ls.startSpec()
	}
}

// openUpTo opens the sections before n not yet opened, filing each section left
// without entries as {} in the shared record, as a split does.
func (ls *layoutSplit) openUpTo(sections []string, n int) bool {
	for len(ls.secs) < n {
		if len(ls.secs) > 0 && !ls.hasEntry {
			i := len(ls.secs) - 1
			ls.sp.getShared().addWhole(ls.secs[i], []byte("{}"))
		}
		name := sections[len(ls.secs)]
		for i := 0; i < len(name); i++ {
			if c := name[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
				ls.bad = true // a split would read it unescaped
				return false
			}
		}
		sec := []byte(`"` + name + `"`)
		ls.secs = append(ls.secs, sec)
		ls.kinds = append(ls.kinds, kindOfSection(sec))
		ls.hasEntry = false
		ls.sp.seq++ // entries of two sections are never consecutive, as in members
	}
	return true
}

// startSpec starts the writer and hands it every fragment filed so far but the
// last, which may still grow (the splitter hands over each from now on).
func (ls *layoutSplit) startSpec() {
	ls.spec, ls.newSpec = ls.newSpec(), nil
	if ls.spec == nil {
		return
	}
	for _, f := range ls.sp.order[:max(len(ls.sp.order)-1, 0)] {
		pt := f.part()
		if pt.own {
			// A fragment the split had to copy may still grow: leave the writer out.
			ls.spec.abort()
			ls.spec = nil
			return
		}
		ls.spec.push(pt.section, pt.value)
	}
	ls.sp.spec = ls.spec
}

// finish completes the split of doc, whose sections are all of sections. ok is
// false when the layout did not fit: the caller aborts spec, if any, and splits doc.
// lost says spec, if any, did not get every fragment as it ends up and must be
// aborted.
func (ls *layoutSplit) finish(doc []byte, sections []string) (recs map[string]*record, order []fragRef, lost, ok bool) {
	if ls.bad || !ls.openUpTo(sections, len(sections)) {
		return nil, nil, ls.spec != nil, false
	}
	if n := len(ls.secs); n > 0 && !ls.hasEntry {
		ls.sp.getShared().addWhole(ls.secs[n-1], []byte("{}"))
	}
	ls.sp.doc = doc
	recs, order, lost = ls.sp.finish(ls.sp.recs, ls.spec)
	return recs, order, lost, true
}

// bytesOf is s as bytes without a copy: the splitter only reads them (and copies
// what it keeps), so the string's immutability holds.
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// layoutFeed runs a layoutSplit on a goroutine of its own, fed in batches, so the
// serializer's core only serializes: the split (record lookups, CRCs) runs beside it,
// on the core the writer seals and writes on.
type layoutFeed struct {
	ls    *layoutSplit
	batch layoutBatch
	ch    chan layoutBatch
	done  chan struct{}
}

// layoutBatch is entries of the document doc, whose sections so far are secs.
type layoutBatch struct {
	doc  []byte
	secs []string
	es   []identity.EntryLayout
}

const feedBatch = 512

// feed starts ls's goroutine; its entry is SerializeEach's callback, and wait must be
// called once serializing is over, before ls.finish.
func (ls *layoutSplit) feed() *layoutFeed {
	f := &layoutFeed{ls: ls, ch: make(chan layoutBatch, 8), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		for b := range f.ch {
			for _, e := range b.es {
				ls.entry(b.doc, b.secs, e)
			}
		}
	}()
	return f
}

// entry queues e. The serializer only appends to doc and sections after this, so the
// goroutine reads what is already written while the serializer writes past it.
func (f *layoutFeed) entry(doc []byte, secs []string, e identity.EntryLayout) {
	if f.batch.es == nil {
		f.batch.es = make([]identity.EntryLayout, 0, feedBatch)
	}
	f.batch.es = append(f.batch.es, e)
	f.batch.doc, f.batch.secs = doc, secs
	if len(f.batch.es) == feedBatch {
		f.ch <- f.batch
		f.batch = layoutBatch{}
	}
}

// wait hands over the last batch and waits for the split of every entry.
func (f *layoutFeed) wait() {
	if len(f.batch.es) > 0 {
		f.ch <- f.batch
	}
	close(f.ch)
	<-f.done
}
