package ingest

import (
	"fmt"
	"reflect"
	"runtime"
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

// TestMeterStatesHeapPerMeter bounds what the admission states keep per
// meter: one MeterState value in a slice (56 bytes, up to twice that while
// the slice has room to grow), no object of its own and no pointer for
// the collector to follow.
func TestMeterStatesHeapPerMeter(t *testing.T) {
	if typ := reflect.TypeFor[MeterState](); pointerIn(typ) {
		t.Fatalf("%v holds a pointer: the collector would mark every meter's state", typ)
	}
	const n = 100_000
	devs := make([]*Device, n)
	for i := range devs {
		devs[i] = &Device{Meter: fmt.Sprintf("M%06d", i), num: uint32(i)}
	}
	before, objsBefore := heapAfterGC()
	s := newMeterStates(NewDirectory(), nil)
	for i, dev := range devs {
		s.set(dev, MeterState{Seq: uint64(i), Known: true})
	}
	after, objsAfter := heapAfterGC()
	per, objs := float64(int64(after)-int64(before))/n, float64(int64(objsAfter)-int64(objsBefore))/n
	if st := s.get(devs[n/2]); st.Seq != n/2 || !st.Known {
		t.Fatalf("state of %s: %+v", devs[n/2].Meter, st)
	}
	runtime.KeepAlive(devs)
	t.Logf("%.0f bytes, %.4f objects per meter", per, objs)
	if per > 2*56 {
		t.Errorf("the admission states keep %.0f bytes per meter, want at most 112", per)
	}
	if objs > 0.01 {
		t.Errorf("the admission states keep %.4f objects per meter, want none", objs)
	}
}

// pointerIn reports whether values of t hold a pointer.
func pointerIn(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Struct:
		for i := range t.NumField() {
			if pointerIn(t.Field(i).Type) {
				return true
			}
		}
		return false
	case reflect.Array:
		return pointerIn(t.Elem())
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	}
	return true
}
