package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/reading"
)

// flakyLedger fails the Append calls fail names (1-based) and sequences
// every other one, in memory.
type flakyLedger struct {
	mu      sync.Mutex
	calls   int
	fail    map[int]bool
	entries [][]byte
}

func (l *flakyLedger) Append(_ context.Context, es [][]byte) ([]uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if l.fail[l.calls] {
		return nil, errors.New("injected: disk I/O error")
	}
	idx := make([]uint64, len(es))
	for i, e := range es {
		idx[i] = uint64(len(l.entries))
		l.entries = append(l.entries, e)
	}
	return idx, nil
}

// A ledger that fails appends mid-stream, while later batches succeed,
// holds back the later readings of the meters whose readings failed: a
// device that resends what was answered unavailable gets every reading
// into the ledger once, in its order, none refused as a replay. (Before
// the hold, the later readings were admitted first and the failed ones,
// sent again, were refused as replays.)
func TestPipelineLedgerFailureMidStream(t *testing.T) {
	dir := NewDirectory()
	l := &flakyLedger{fail: map[int]bool{3: true, 4: true, 9: true}}
	s := newMemStore()
	// Small batches: a device's window of readings spans several appends,
	// so that one fails while the next succeeds.
	p, err := New(Options{Ledger: l, Store: s, Directory: dir, MaxBatch: 3, Linger: -1, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const meters, each, window = 4, 40, 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := map[string]uint64{} // meter/seq → index
	held := 0
	for i := 0; i < meters; i++ {
		m := newTestMeter(t, dir, fmt.Sprintf("M%d", i))
		msgs := m.run(t, each)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A QoS 1 device: up to window readings in flight, in seq
			// order; what was not acknowledged is sent again, oldest first.
			next := 0
			for rounds := 0; next < each; rounds++ {
				if rounds > 200 {
					t.Errorf("%s: not done after 200 rounds", m.id)
					return
				}
				base := next
				hi := min(base+window, each)
				res := make([]chan Result, hi-next)
				for j := range res {
					res[j] = make(chan Result, 1)
					ch := res[j]
					p.Submit(msgs[base+j], m.id, "test", func(r Result) { ch <- r })
				}
				advance := true
				for j, ch := range res {
					r := <-ch
					switch {
					case r.Reject != nil && r.Reject.Reason == ReasonUnavailable:
						advance = false
						mu.Lock()
						held++
						mu.Unlock()
					case r.Reject != nil:
						t.Errorf("%s seq %d refused: %s: %s", m.id, base+j+1, r.Reject.Reason, r.Reject.Detail)
						return
					default:
						mu.Lock()
						acked[fmt.Sprintf("%s/%d", m.id, base+j+1)] = r.Index
						mu.Unlock()
						if advance {
							next = base + j + 1
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.calls < 10 || held == 0 {
		t.Fatalf("the injected failures did not hit the stream: %d appends, %d answers unavailable", l.calls, held)
	}
	// Every acknowledged reading is in the ledger once, at its index, and
	// each meter's readings are there in seq order.
	if len(acked) != meters*each || len(l.entries) != meters*each {
		t.Fatalf("%d readings acknowledged, %d in the ledger; want %d", len(acked), len(l.entries), meters*each)
	}
	last := map[string]uint64{}
	for i, e := range l.entries {
		r, err := reading.Parse(e)
		if err != nil {
			t.Fatal(err)
		}
		if r.Seq != last[r.Meter]+1 {
			t.Fatalf("ledger entry %d: %s seq %d after seq %d", i, r.Meter, r.Seq, last[r.Meter])
		}
		last[r.Meter] = r.Seq
		if idx := acked[fmt.Sprintf("%s/%d", r.Meter, r.Seq)]; idx != uint64(i) {
			t.Fatalf("%s seq %d acknowledged with index %d, in the ledger at %d", r.Meter, r.Seq, idx, i)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rj := range s.rejections {
		t.Errorf("refused: %s %s: %s", rj.Meter, rj.Reason, rj.Detail)
	}
	t.Logf("%d appends (3 failed), %d answers unavailable, %d readings in the ledger in order", l.calls, held, len(l.entries))
}

// A gateway signs a new reading, with the next seq, for a frame its device
// sends again; so a gateway-signed reading that failed to reach the ledger
// puts its meter on no hold, and the next one is admitted (as a gap). A
// meter-signed one does: its next reading waits.
func TestPipelineHoldOnlyWhatComesAgain(t *testing.T) {
	dir := NewDirectory()
	l := &flakyLedger{fail: map[int]bool{1: true, 3: true}}
	p, err := New(Options{Ledger: l, Store: newMemStore(), Directory: dir, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	gw := newTestGateway(t, dir, "GW1")
	putGatewayMeter(t, dir, "L1", "GW1")
	if res := submitWait(p, gw.next(t, "L1", 1, "frame 1"), ""); res.Reject == nil || res.Reject.Reason != ReasonUnavailable {
		t.Fatalf("gateway reading with the ledger failing: %+v", res)
	}
	if res := submitWait(p, gw.next(t, "L1", 2, "frame 2"), ""); res.Reject != nil {
		t.Fatalf("the gateway's next reading: %v, want admitted", res.Reject)
	}
	m := newTestMeter(t, dir, "M1")
	r1, r2 := m.next(t, t0, 1), m.next(t, t0, 2)
	if res := submitWait(p, r1, "M1"); res.Reject == nil || res.Reject.Reason != ReasonUnavailable {
		t.Fatalf("meter reading with the ledger failing: %+v", res)
	}
	if res := submitWait(p, r2, "M1"); res.Reject == nil || res.Reject.Reason != ReasonUnavailable {
		t.Fatalf("the meter's next reading before the failed one came again: %+v, want held", res)
	}
	for i, raw := range [][]byte{r1, r2} {
		if res := submitWait(p, raw, "M1"); res.Reject != nil {
			t.Fatalf("reading %d sent again: %v", i+1, res.Reject)
		}
	}
}
