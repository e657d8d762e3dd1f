package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"

	"github.com/shuixiao/shuixiao/internal/broker"
	"github.com/shuixiao/shuixiao/internal/ledger"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/reading"
)

// faultLoad is the load the fault tests hold: one device per meter on MQTT
// 5, each publishing its readings in order at QoS 1 and resending a
// reading until it is acknowledged, reconnecting when the connection is
// gone. A reading counts as acknowledged only on a PUBACK with success.
type faultLoad struct {
	mu     sync.Mutex
	acked  []sent
	resent int // publishes answered with a failure, or not at all, and sent again
	stop   chan struct{}
	wg     sync.WaitGroup
}

// startFaultLoad starts the devices of meters against the broker at addr.
func startFaultLoad(t *testing.T, addr string, meters []*testMeter) *faultLoad {
	l := &faultLoad{stop: make(chan struct{})}
	for _, m := range meters {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			var c *paho5.Client
			defer func() {
				if c != nil {
					c.Disconnect(&paho5.Disconnect{})
				}
			}()
			for v := 0; ; v++ {
				msg := m.next(t, float64(v))
				for {
					select {
					case <-l.stop:
						return
					default:
					}
					if c == nil {
						var err error
						if c, err = dialMQTT5(addr, m); err != nil {
							time.Sleep(50 * time.Millisecond)
							continue
						}
					}
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
					pr, err := c.Publish(ctx, &paho5.Publish{Topic: broker.ReadingsPrefix + m.id, QoS: 1, Payload: msg})
					cancel()
					if err == nil && pr.ReasonCode == 0 {
						l.mu.Lock()
						l.acked = append(l.acked, sent{m.id, m.seq, msg})
						l.mu.Unlock()
						break
					}
					if err != nil {
						c.Disconnect(&paho5.Disconnect{})
						c = nil // gone, or no answer: connect again
					}
					l.mu.Lock()
					l.resent++
					l.mu.Unlock()
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	return l
}

// Acked is the number of readings acknowledged so far.
func (l *faultLoad) Acked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// WaitAcked waits until at least n readings are acknowledged in all, and
// fails the test if that takes longer than within: the load did not hold.
// It replaces a fixed time under load, so that a slow machine waits longer
// and a quick one does not send more than the test needs.
func (l *faultLoad) WaitAcked(t *testing.T, n int, within time.Duration) {
	t.Helper()
	for end := time.Now().Add(within); l.Acked() < n; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("load: %d readings acknowledged after %v, want %d", l.Acked(), within, n)
		}
	}
}

// WaitEachAckedAfter waits until every meter has a reading acknowledged
// after the first mark acknowledgements (each device is through again after
// a fault, its resends included), and fails the test if that takes longer
// than within.
func (l *faultLoad) WaitEachAckedAfter(t *testing.T, mark int, meters []*testMeter, within time.Duration) {
	t.Helper()
	for end := time.Now().Add(within); ; time.Sleep(20 * time.Millisecond) {
		l.mu.Lock()
		seen := map[string]bool{}
		for _, a := range l.acked[mark:] {
			seen[a.meter] = true
		}
		l.mu.Unlock()
		var missing []string
		for _, m := range meters {
			if !seen[m.id] {
				missing = append(missing, m.id)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("load: no reading of %v acknowledged within %v after the fault", missing, within)
		}
	}
}

// Resent is the number of publishes sent again so far.
func (l *faultLoad) Resent() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.resent
}

// Stop ends the load and returns what was acknowledged and resent.
func (l *faultLoad) Stop() ([]sent, int) {
	close(l.stop)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acked, l.resent
}

// readingStore is what checkNoLoss reads of a store.
type readingStore interface {
	ReadingBySeq(ctx context.Context, meterID string, seq uint64) (store.Reading, error)
}

// checkNoLoss asserts what every fault test ends with: each acknowledged
// reading is in the store and in the ledger at the index the store gives,
// with the bytes that were sent; no reading is in the ledger twice; and
// `verify log` (with --strict: no gap in any meter's chain) passes. It
// returns the readings in the ledger.
func checkNoLoss(t *testing.T, st readingStore, lg *ledger.Log, ledgerDir string, acked []sent, strict bool) int {
	t.Helper()
	ctx := context.Background()
	// The ledger is read once, in order, rather than one entry at a time
	// (each a bundle read and decoded again).
	size, err := lg.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	entries := make(map[uint64][]byte, size)
	inLedger := map[string]int{}
	err = lg.Entries(ctx, 0, size, func(i uint64, e []byte) error {
		entries[i] = bytes.Clone(e)
		if r, err := reading.Parse(e); err == nil {
			inLedger[fmt.Sprintf("%s/%d", r.Meter, r.Seq)]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range acked {
		r, err := st.ReadingBySeq(ctx, a.meter, a.seq)
		if err != nil {
			t.Fatalf("acknowledged reading %s seq %d lost from the store: %v", a.meter, a.seq, err)
		}
		if e, ok := entries[r.Index]; !ok || !bytes.Equal(e, a.msg) {
			t.Fatalf("ledger entry %d is not %s seq %d (ledger size %d)", r.Index, a.meter, a.seq, size)
		}
	}
	for k, n := range inLedger {
		if n != 1 {
			t.Fatalf("ledger holds %s %d times", k, n)
		}
	}
	args := []string{"log", ledgerDir, "--log-key", lg.VerifierKey()}
	if strict {
		args = append(args, "--strict")
	}
	if code, out, errs := runVerifyCmd(t, args...); code != 0 {
		t.Fatalf("verify %v: exit %d\n%s\n%s", args, code, out, errs)
	}
	return len(inLedger)
}

// faultReport prints a fault test's counts as one JSON line (docs/faults.md
// collects them); lost and duplicates_in_ledger are 0 once checkNoLoss passed.
func faultReport(t *testing.T, fields map[string]any) {
	t.Helper()
	fields["lost"], fields["duplicates_in_ledger"] = 0, 0
	rep, _ := json.Marshal(fields)
	t.Logf("fault report: %s", rep)
}
