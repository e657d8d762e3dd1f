package ingest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// registerEntry is meter m's registration entry, applied as the server
// applies one: the meter put in dir with its point.
func registerEntry(t *testing.T, dir *Directory, m *testMeter) Entry {
	t.Helper()
	total, _ := meter.StandardChannel("total_m3")
	flow, _ := meter.StandardChannel("flow_m3h")
	pt := meter.Point{ID: "P-" + m.id, Enterprise: "E1", Level: 1, Stage: meter.StageUse, Channels: []meter.Channel{total, flow}}
	ke := &reading.KeyEntry{Action: reading.ActionRegister, Meter: m.id, Enterprise: "E1", Point: pt.ID, Key: m.vkey, Signed: "meter", Time: t0, Reason: "test"}
	return Entry{Raw: []byte(ke.Text()), Key: ke, Apply: func(context.Context, uint64) error {
		return dir.Put(meter.Meter{ID: m.id, Point: pt.ID, Key: m.vkey}, pt, "E1")
	}}
}

// TestPipelineForgetsAppliedKeyEntries: the key entries a pipeline
// sequenced are not kept once applied and no reading checked before them
// is left to admit — a province registered through one sequencer would
// otherwise keep every meter's entry for as long as it runs. The meters'
// readings after their registration are admitted as before.
func TestPipelineForgetsAppliedKeyEntries(t *testing.T) {
	dir := NewDirectory()
	l, s := &memLedger{}, newMemStore()
	p, err := New(Options{Ledger: l, Store: s, Directory: dir, Linger: -1, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var ms []*testMeter
	var es []Entry
	for i := range 40 {
		m := newTestMeter(t, NewDirectory(), fmt.Sprintf("M%02d", i)) // its key, not yet in dir
		ms, es = append(ms, m), append(es, registerEntry(t, dir, m))
	}
	if _, err := p.SubmitEntries(context.Background(), es); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if r := submitWait(p, m.next(t, t0, 1), m.id); r.Reject != nil {
			t.Fatalf("%s after its registration: %v", m.id, r.Reject)
		}
	}
	p.Close() // the sequencer's state is the test's to read
	if len(p.keys) != 0 {
		t.Fatalf("the pipeline keeps %d key entries after they were applied and every reading behind them admitted, want 0", len(p.keys))
	}
}

// pruneFixture is the sequencer's side of a pipeline with verifiers
// verifiers, for pruneKeys alone, and its directory with meter M1 in it.
func pruneFixture(t *testing.T, verifiers int) (*Pipeline, *Directory) {
	dir := NewDirectory()
	newTestMeter(t, dir, "M1")
	return &Pipeline{opts: Options{Directory: dir}, keys: map[string]*keyChange{},
		checking: make([]atomic.Int64, verifiers), lastGen: make([]uint64, verifiers)}, dir
}

// TestPruneKeysWaitsForReadingsCheckedBefore is pruneKeys' rule: an entry
// stays until it was applied, the directory was seen to hold it, and no
// reading checked against the directory before that is left to admit.
func TestPruneKeysWaitsForReadingsCheckedBefore(t *testing.T) {
	p, dir := pruneFixture(t, 2)
	ke := &reading.KeyEntry{Action: reading.ActionRevoke, Meter: "M1", Time: t0, Reason: "test"}
	k := &keyChange{ke: ke}
	p.keys[ke.Subject()], p.unpruned = k, []*keyChange{k}
	kept := func(step string, want bool) {
		t.Helper()
		p.pruneKeys()
		if got := p.keys[ke.Subject()] == k; got != want {
			t.Fatalf("%s: entry kept %v, want %v", step, got, want)
		}
	}
	// Verifier 0 checked a reading of M1 before the revocation reached the
	// directory; the sequencer has not admitted it.
	p.checking[0].Add(1)
	p.lastGen[0] = dir.generation()
	kept("not applied", true)

	dir.Revoke("M1")
	kept("in the directory, but the commit stage has not said it applied it", true)
	k.applied.Store(true)
	kept("applied, a reading checked before it still to admit", true)

	// Verifier 1 has readings waiting too, all checked after.
	p.checking[1].Add(3)
	p.lastGen[1] = dir.generation()
	kept("verifier 1's readings all checked after it, verifier 0's one before it still to admit", true)

	// The sequencer admits verifier 0's reading, and more behind it,
	// checked after the revocation.
	p.lastGen[0] = dir.generation()
	kept("every reading still to come checked after it", false)
	if len(p.unpruned) != 0 {
		t.Fatalf("%d entries left to prune, want 0", len(p.unpruned))
	}
}

// TestPruneKeysIdleVerifiers: a verifier with nothing waiting holds no
// entry back, whatever it last checked; an entry a later one of the same
// meter replaced is no longer pruneKeys' to drop.
func TestPruneKeysIdleVerifiers(t *testing.T) {
	p, dir := pruneFixture(t, 1)
	revoke := &keyChange{ke: &reading.KeyEntry{Action: reading.ActionRevoke, Meter: "M1", Time: t0, Reason: "test"}}
	again := &keyChange{ke: &reading.KeyEntry{Action: reading.ActionRevoke, Meter: "M1", Time: t0, Reason: "again"}}
	subject := revoke.ke.Subject()
	p.keys[subject], p.unpruned = again, []*keyChange{revoke, again}
	dir.Revoke("M1")
	revoke.applied.Store(true)
	p.pruneKeys()
	if p.keys[subject] != again || len(p.unpruned) != 1 {
		t.Fatalf("after the replaced entry was applied: keys %v, %d left to prune; want the later entry kept", p.keys, len(p.unpruned))
	}
	again.applied.Store(true)
	p.pruneKeys()
	if len(p.keys) != 0 || len(p.unpruned) != 0 {
		t.Fatalf("applied, verifier idle: %d entries kept, %d left to prune; want none", len(p.keys), len(p.unpruned))
	}
}

// TestAdmittedReadingsShareDirectoryNames: an admitted reading's meter,
// point and channel names are the directory's strings, not the ones parsed
// from it, so that the per-meter maps after admission (the live view, the
// alarm monitor's, the store's) keep no object of each meter's reading.
func TestAdmittedReadingsShareDirectoryNames(t *testing.T) {
	dir := NewDirectory()
	committed := make(chan *Committed, 1)
	p, err := New(Options{Ledger: &memLedger{}, Store: newMemStore(), Directory: dir, Linger: -1, Now: func() time.Time { return t0 },
		OnCommitted: func(c *Committed) { committed <- c }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	m := newTestMeter(t, dir, "M1")
	if r := submitWait(p, m.next(t, t0, 1), "M1"); r.Reject != nil {
		t.Fatal(r.Reject)
	}
	c := <-committed
	dev, _ := dir.Get("M1")
	same := func(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }
	r := c.Readings[0]
	if !same(r.Meter, dev.Meter) {
		t.Error("the stored reading's meter ID is not the directory's string")
	}
	for _, v := range r.Values {
		if !same(v.Channel, dev.Channels[v.Channel].Name) {
			t.Errorf("channel %s: not the point's string", v.Channel)
		}
	}
}
