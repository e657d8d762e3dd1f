package ingest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

// TestDirectoryNumbersMeters: every meter has one number, 0, 1, 2, … in
// the order the meters were first put, kept by a new key and a
// revocation, and a meter put by many at once still gets one.
func TestDirectoryNumbersMeters(t *testing.T) {
	dir := NewDirectory()
	ms := []*testMeter{newTestMeter(t, dir, "M0"), newTestMeter(t, dir, "M1"), newTestMeter(t, dir, "M2")}
	for i, m := range ms {
		if dev, _ := dir.Get(m.id); dev.num != uint32(i) {
			t.Fatalf("%s has number %d, want %d", m.id, dev.num, i)
		}
	}
	again := newTestMeter(t, dir, "M1") // a new key for M1
	dir.Revoke("M2")
	for i, id := range []string{"M0", again.id, "M2"} {
		if dev, _ := dir.Get(id); dev.num != uint32(i) {
			t.Errorf("after a new key and a revocation, %s has number %d, want %d", id, dev.num, i)
		}
	}
	total, _ := meter.StandardChannel("total_m3")
	p := meter.Point{ID: "P-N", Enterprise: "E1", Level: 1, Stage: meter.StageUse, Channels: []meter.Channel{total}}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each a different key (a gateway signs none): every Put replaces.
			if err := dir.Put(meter.Meter{ID: "N", Point: p.ID, Gateway: fmt.Sprintf("G%d", i)}, p, "E1"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if dev, _ := dir.Get("N"); dev.num != 3 {
		t.Errorf("a meter put 8 times at once has number %d, want 3", dev.num)
	}
	if dir.meters != 4 {
		t.Errorf("%d numbers given for 4 meters", dir.meters)
	}
}

// TestPipelineStatesAtStart: the admission states a pipeline starts from
// hold for meters the directory held then and for one registered later.
func TestPipelineStatesAtStart(t *testing.T) {
	dir := NewDirectory()
	before := newTestMeter(t, dir, "M-before")
	later := &testMeter{id: "M-later"}
	start := map[string]MeterState{}
	for _, m := range []*testMeter{before, later} {
		if m.signer == nil {
			registered := newTestMeter(t, NewDirectory(), m.id) // its key, not yet in dir
			m.vkey, m.signer = registered.vkey, registered.signer
		}
		m.run(t, 3) // admitted before the restart
		start[m.id] = MeterState{Seq: m.seq, Hash: m.prev, Index: 7, Known: true}
	}
	l, s := &memLedger{}, newMemStore()
	p, err := New(Options{Ledger: l, Store: s, Directory: dir, States: start, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	total, _ := meter.StandardChannel("total_m3")
	flow, _ := meter.StandardChannel("flow_m3h")
	pt := meter.Point{ID: "P-" + later.id, Enterprise: "E1", Level: 1, Stage: meter.StageUse, Channels: []meter.Channel{total, flow}}
	if err := dir.Put(meter.Meter{ID: later.id, Point: pt.ID, Key: later.vkey}, pt, "E1"); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*testMeter{before, later} {
		// The next seq chains on the state: no gap.
		if res := submitWait(p, m.next(t, t0, 10), m.id); res.Reject != nil || res.Flags != 0 {
			t.Errorf("%s, next reading: %+v", m.id, res)
		}
		// A reading with an earlier seq is a replay.
		old := *m
		old.seq, old.prev = 2, [32]byte{}
		if res := submitWait(p, old.next(t, t0, 99), m.id); res.Reject == nil || res.Reject.Reason != ReasonReplay {
			t.Errorf("%s, seq 3 again: %+v", m.id, res)
		}
	}
}

// TestPipelineStateOutlivesNewKey: a meter's admission state is the same
// after the directory takes a new key for it: its old seqs stay replays.
func TestPipelineStateOutlivesNewKey(t *testing.T) {
	p, _, _, dir := newTestPipeline(t)
	newTestMeter(t, dir, "M0")
	m := newTestMeter(t, dir, "M1")
	for _, raw := range m.run(t, 2) {
		if res := submitWait(p, raw, m.id); res.Reject != nil {
			t.Fatal(res.Reject)
		}
	}
	rekeyed := newTestMeter(t, dir, m.id)
	if res := submitWait(p, rekeyed.next(t, t0, 5), m.id); res.Reject == nil || res.Reject.Reason != ReasonReplay {
		t.Errorf("seq 1 under the new key: %+v, want a replay", res)
	}
	rekeyed.seq, rekeyed.prev = m.seq, m.prev
	if res := submitWait(p, rekeyed.next(t, t0, 6), m.id); res.Reject != nil || res.Flags&store.FlagGap != 0 {
		t.Errorf("seq 3 under the new key: %+v, want admitted without a gap", res)
	}
}
