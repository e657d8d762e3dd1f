package ingest

import (
	"sync"
	"testing"
	"time"
)

// An exact resubmission of a reading that shares its batch with later
// readings of the same meter (a device's retry reaching a sequencer that
// gathers 100 ms of readings) is answered with the original's index, not
// refused as a replay.
func TestPipelineResubmissionInSameBatch(t *testing.T) {
	dir := NewDirectory()
	l, s := &memLedger{}, newMemStore()
	p, err := New(Options{Ledger: l, Store: s, Directory: dir, Linger: 300 * time.Millisecond, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	m := newTestMeter(t, dir, "M1")
	if r := submitWait(p, m.next(t, t0, 0), ""); r.Reject != nil { // the batch after this one waits out the linger
		t.Fatal(r.Reject)
	}
	msgs := m.run(t, 3)
	msgs = append(msgs, msgs[0]) // seq 2 again, after seq 4
	res := make([]Result, len(msgs))
	var wg sync.WaitGroup
	for i, msg := range msgs {
		wg.Add(1)
		p.Submit(msg, "", "test", func(r Result) { res[i] = r; wg.Done() })
	}
	wg.Wait()
	l.mu.Lock()
	sizes := append([]int(nil), l.sizes...)
	l.mu.Unlock()
	if len(sizes) != 2 || sizes[1] != 3 {
		t.Fatalf("append sizes %v, want [1 3]: the readings did not share a batch", sizes)
	}
	if r := res[3]; r.Reject != nil || !r.Duplicate || r.Index != res[0].Index {
		t.Fatalf("resubmission of seq 2 in its own batch: %+v (reject %v), want duplicate of index %d", r, r.Reject, res[0].Index)
	}
}
