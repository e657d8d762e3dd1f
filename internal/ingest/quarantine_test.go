package ingest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/reading"
)

// TestPipelineQuarantinesWhatTheStoreRefuses: a reading already in the
// ledger that the store refuses for good is set aside at once — answered,
// recorded, reported — and neither it nor the queue behind it is retried;
// the other readings of its batch are stored.
func TestPipelineQuarantinesWhatTheStoreRefuses(t *testing.T) {
	dir := NewDirectory()
	l, s := &memLedger{}, newMemStore()
	s.refuse = func(r store.Reading) error {
		if v, _ := r.Value("total_m3"); v == 13 {
			return fmt.Errorf("reading %s/%d: %w: seq not above the stored one", r.Meter, r.Seq, store.ErrConflict)
		}
		return nil
	}
	var mu sync.Mutex
	var seen []*Committed
	reg := prometheus.NewRegistry()
	p, err := New(Options{Ledger: l, Store: s, Directory: dir, Now: func() time.Time { return t0 }, Registerer: reg,
		Linger: 200 * time.Millisecond, OnCommitted: func(c *Committed) { mu.Lock(); seen = append(seen, c); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	ms := []*testMeter{newTestMeter(t, dir, "M1"), newTestMeter(t, dir, "M2"), newTestMeter(t, dir, "M3")}

	// A first batch, so that the next waits out the linger and takes all three.
	if r := submitWait(p, newTestMeter(t, dir, "M0").next(t, t0, 1), "M0"); r.Reject != nil {
		t.Fatalf("first batch: %+v", r)
	}
	// One batch: M2's reading is the one the store refuses.
	results := make([]chan Result, len(ms))
	for i, m := range ms {
		total := float64(10 + i)
		if i == 1 {
			total = 13
		}
		results[i] = make(chan Result, 1)
		ch := results[i]
		p.Submit(m.next(t, t0, total), m.id, "test", func(r Result) { ch <- r })
	}
	var got []Result
	for i := range ms {
		select {
		case r := <-results[i]:
			got = append(got, r)
		case <-time.After(10 * time.Second):
			t.Fatalf("reading %d not answered: the commit is being retried", i)
		}
	}
	if got[0].Reject != nil || got[2].Reject != nil {
		t.Fatalf("readings the store takes: %+v, %+v", got[0], got[2])
	}
	if r := got[1].Reject; r == nil || r.Reason != ReasonQuarantined || r.Meter != "M2" {
		t.Fatalf("refused reading: %+v", got[1])
	}
	if len(l.sizes) != 2 || l.sizes[1] != 3 {
		t.Fatalf("ledger appends %v, want a batch of three", l.sizes)
	}
	// The meter goes on: its next reading is stored.
	if r := submitWait(p, ms[1].next(t, t0.Add(time.Minute), 14), "M2"); r.Reject != nil || r.Index != 4 {
		t.Fatalf("next reading of M2: %+v", r)
	}
	s.mu.Lock()
	if len(s.readings) != 4 || len(s.quarantined) != 1 || s.ledgerSize != 5 {
		t.Errorf("store: %d readings, quarantine %+v, ledger size %d", len(s.readings), s.quarantined, s.ledgerSize)
	} else if q := s.quarantined[0]; q.Index != got[1].Index || q.Meter != "M2" || q.Seq != 1 || q.Reason != ReasonStoreRefused {
		t.Errorf("quarantine record %+v", q)
	}
	s.mu.Unlock()

	mu.Lock()
	defer mu.Unlock()
	first := seen[1]
	if len(first.Quarantined) != 1 || len(first.Readings) != 2 || len(first.Raw) != 2 || len(first.Enterprise) != 2 {
		t.Fatalf("committed: %d quarantined, %d readings, %d raw, %d enterprises", len(first.Quarantined), len(first.Readings), len(first.Raw), len(first.Enterprise))
	}
	for i, r := range first.Readings {
		if reading.HashOf(first.Raw[i]) != r.Hash {
			t.Errorf("committed reading %d does not match its signed note", i)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counted := -1.0
	for _, mf := range mfs {
		if mf.GetName() == "shuixiao_ingest_quarantined_total" {
			counted = mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if counted != 1 {
		t.Errorf("shuixiao_ingest_quarantined_total %v, want 1", counted)
	}
}

// TestPipelineRetriesTransientFailures: a busy store is retried until it
// takes the batch, and nothing is quarantined.
func TestPipelineRetriesTransientFailures(t *testing.T) {
	p, _, s, dir := newTestPipeline(t)
	m := newTestMeter(t, dir, "M1")
	s.mu.Lock()
	s.transient = 2
	s.mu.Unlock()
	if r := submitWait(p, m.next(t, t0, 1), "M1"); r.Reject != nil {
		t.Fatalf("reading after transient failures: %+v", r)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.readings) != 1 || len(s.quarantined) != 0 || s.commits != 3 {
		t.Errorf("store: %d readings, %d quarantined, %d commits", len(s.readings), len(s.quarantined), s.commits)
	}
}
