package bus

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/ledger"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/rejection"
)

// failingLedger is the real ledger with a fault injected at the consumer's
// interface (ingest.Ledger): while failing is set, every Append fails.
type failingLedger struct {
	lg      *ledger.Log
	calls   atomic.Int64
	failing atomic.Bool
	failed  atomic.Int64
}

func (l *failingLedger) Append(ctx context.Context, es [][]byte) ([]uint64, error) {
	l.calls.Add(1)
	if l.failing.Load() {
		l.failed.Add(1)
		return nil, errors.New("injected: ledger disk I/O error")
	}
	return l.lg.Append(ctx, es)
}

// TestSequencerLedgerFailureMidStream: the ledger fails appends for a while
// under load, while readings keep arriving on the stream (and the stream
// keeps acknowledging them to the edge). The sequencer stops at the first
// failure and starts again from the oldest unacknowledged message; every
// reading the stream acknowledged ends up in the ledger exactly once, each
// meter's readings in seq order, none refused as a replay.
func TestSequencerLedgerFailureMidStream(t *testing.T) {
	ctx := context.Background()
	_, c := startBus(t)
	dir := t.TempDir()
	lg, err := ledger.Open(ctx, ledger.Options{Dir: filepath.Join(dir, "ledger"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close(ctx)
	st, err := sqlite.Open(filepath.Join(dir, "store.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}))
	must(st.CreateEnterprise(ctx, meter.Enterprise{ID: "E", Name: "E", Region: "430000", Industry: "3120"}))
	directory := ingest.NewDirectory()
	total, _ := meter.StandardChannel("total_m3")
	const meters = 6
	signers := make([]note.Signer, meters)
	keys := make([]string, meters)
	for i := range signers {
		id := fmt.Sprintf("F%d", i)
		skey, vkey, _ := note.GenerateKey(rand.Reader, reading.KeyName(id))
		signers[i], _ = note.NewSigner(skey)
		keys[i] = vkey
		p := meter.Point{ID: "P" + id, Enterprise: "E", Name: id, Level: 3, Stage: meter.StageUse, Channels: []meter.Channel{total}}
		m := meter.Meter{ID: id, Point: p.ID, Key: vkey, Signed: meter.SignedByMeter}
		must(st.CreatePoint(ctx, p))
		must(st.CreateMeter(ctx, m))
		must(directory.Put(m, p, "E"))
	}
	fl := &failingLedger{lg: lg}
	// Small, frequent batches: the pipeline holds readings of several
	// messages when the failure comes.
	p, err := ingest.New(ingest.Options{Ledger: fl, Store: st, Directory: directory, MaxBatch: 64, Linger: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	seq := NewSequencer(c, p, SequencerOptions{Retry: 200 * time.Millisecond})
	runCtx, stopRun := context.WithCancel(ctx)
	running := make(chan struct{})
	go func() { defer close(running); seq.Run(runCtx) }()
	defer func() { stopRun(); <-running }()

	// Each meter publishes its readings in order, a window of them in
	// flight; a reading is acknowledged when the stream has it.
	type key struct {
		meter string
		seq   uint64
	}
	var mu sync.Mutex
	acked := map[key][]byte{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	for i := range signers {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id := fmt.Sprintf("F%d", i)
			var prev reading.Hash
			window := make(chan struct{}, 16)
			var pubs sync.WaitGroup
			defer pubs.Wait()
			for n := uint64(1); ; n++ {
				select {
				case <-stop:
					return
				case window <- struct{}{}:
				}
				time.Sleep(2 * time.Millisecond) // a few thousand readings/s in all
				r := &reading.Reading{Meter: id, Seq: n, Time: start.Add(time.Duration(n) * time.Millisecond), Prev: prev, Point: "P" + id,
					Values: []reading.Value{{Channel: "total_m3", Value: float64(n)}}}
				raw, err := reading.Sign(r, signers[i])
				if err != nil {
					t.Error(err)
					return
				}
				prev = reading.HashOf(raw)
				pubs.Add(1)
				c.Publish(Message{Raw: raw, Source: "test", Received: time.Now(), Key: keys[i]}, func(_ bool, err error) {
					defer pubs.Done()
					<-window
					if err != nil {
						t.Errorf("%s seq %d not stored: %v", id, n, err)
						return
					}
					mu.Lock()
					acked[key{id, n}] = raw
					mu.Unlock()
				})
			}
		}(i)
	}
	ackedNow := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	for ackedNow() < 500 {
		time.Sleep(10 * time.Millisecond)
	}
	fl.failing.Store(true) // mid-stream: the ledger fails, the stream goes on
	atFailure := ackedNow()
	time.Sleep(700 * time.Millisecond)
	fl.failing.Store(false)
	time.Sleep(700 * time.Millisecond)
	close(stop)
	wg.Wait()
	if t.Failed() {
		return
	}

	// Everything the stream acknowledged is sequenced.
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		n, err := c.Pending(ctx)
		if err == nil && n == 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the stream still holds %d messages (%v)", n, err)
		}
	}
	size, err := lg.Size(ctx)
	must(err)
	last := map[string]uint64{}
	inLedger := 0
	must(lg.Entries(ctx, 0, size, func(i uint64, e []byte) error {
		r, err := reading.Parse(e)
		if err != nil {
			return nil // not a reading
		}
		if r.Seq != last[r.Meter]+1 {
			return fmt.Errorf("ledger entry %d: %s seq %d after seq %d (not in order, or twice)", i, r.Meter, r.Seq, last[r.Meter])
		}
		last[r.Meter] = r.Seq
		inLedger++
		return nil
	}))
	mu.Lock()
	defer mu.Unlock()
	for k, raw := range acked {
		r, err := st.ReadingBySeq(ctx, k.meter, k.seq)
		if err != nil {
			t.Fatalf("acknowledged reading %s seq %d lost: %v", k.meter, k.seq, err)
		}
		if e, err := lg.Entry(ctx, r.Index); err != nil || string(e) != string(raw) {
			t.Fatalf("ledger entry %d is not %s seq %d: %v", r.Index, k.meter, k.seq, err)
		}
	}
	if inLedger != len(acked) {
		t.Fatalf("%d readings in the ledger, %d acknowledged", inLedger, len(acked))
	}
	counts, err := st.RejectionCounts(ctx, rejection.Filter{})
	must(err)
	for _, rc := range counts {
		t.Errorf("refused: %+v", rc)
	}
	if fl.failed.Load() == 0 || len(acked) <= atFailure {
		t.Fatalf("the fault did not hit the load: %d appends failed, %d acknowledged before it, %d in all", fl.failed.Load(), atFailure, len(acked))
	}
	t.Logf("ledger failed %d of %d appends for 0.7 s mid-stream; %d readings acknowledged (%d before the failure), all in the ledger once and in order, 0 refused",
		fl.failed.Load(), fl.calls.Load(), len(acked), atFailure)
}
