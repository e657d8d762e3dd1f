package ingest_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/ledger"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// BenchmarkSequencerLinger is the sequencer of bus mode in one process:
// readings an edge already checked (SubmitChecked, no Ed25519) offered at a
// steady rate to admission, a real Tessera ledger and the SQLite store, with
// the pipeline's linger of --role all (25 ms) and of --role sequencer
// (100 ms). It reports the process's CPU per reading (user + system, the
// ledger's syncs included) and the mean time to ledger and store: the two
// sides of a longer linger, measured in one run.
//
//	go test ./internal/ingest -run XXX -bench SequencerLinger -benchtime 40000x
func BenchmarkSequencerLinger(b *testing.B) {
	for _, rate := range []int{5000, 20000} {
		for _, linger := range []time.Duration{25 * time.Millisecond, 100 * time.Millisecond} {
			b.Run(fmt.Sprintf("rate=%d/linger=%s", rate, linger), func(b *testing.B) { benchSequencer(b, rate, linger) })
		}
	}
}

func benchSequencer(b *testing.B, rate int, linger time.Duration) {
	ctx := context.Background()
	dir := b.TempDir()
	lg, err := ledger.Open(ctx, ledger.Options{Dir: dir + "/ledger"})
	if err != nil {
		b.Fatal(err)
	}
	defer lg.Close(ctx)
	st, err := sqlite.Open(dir+"/store.db", sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	const meters = 500
	must(st.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}))
	must(st.CreateEnterprise(ctx, meter.Enterprise{ID: "E", Name: "E", Region: "430000", Industry: "3120"}))
	dirc := ingest.NewDirectory()
	total, _ := meter.StandardChannel("total_m3")
	flow, _ := meter.StandardChannel("flow_m3h")
	per := b.N/meters + 1
	keys := make([]string, meters)
	msgs := make([][][]byte, meters)
	now := time.Now()
	for i := range meters {
		id := fmt.Sprintf("S%04d", i)
		skey, vkey, _ := note.GenerateKey(rand.Reader, reading.KeyName(id))
		signer, _ := note.NewSigner(skey)
		p := meter.Point{ID: "P" + id, Enterprise: "E", Name: id, Level: 3, Stage: meter.StageUse, Channels: []meter.Channel{total, flow}}
		m := meter.Meter{ID: id, Point: p.ID, Key: vkey, Signed: meter.SignedByMeter}
		must(st.CreatePoint(ctx, p))
		must(st.CreateMeter(ctx, m))
		must(dirc.Put(m, p, "E"))
		keys[i] = vkey
		var prev reading.Hash
		for seq := 1; seq <= per; seq++ {
			r := &reading.Reading{Meter: id, Seq: uint64(seq), Time: now, Prev: prev, Point: p.ID,
				Values: []reading.Value{{Channel: "total_m3", Value: float64(seq)}, {Channel: "flow_m3h", Value: 2.5}}}
			msg, err := reading.Sign(r, signer)
			must(err)
			prev = reading.HashOf(msg)
			msgs[i] = append(msgs[i], msg)
		}
	}
	p, err := ingest.New(ingest.Options{Ledger: lg, Store: st, Directory: dirc, Linger: linger})
	must(err)
	defer p.Close()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var wait time.Duration
	n := per * meters
	wg.Add(n)
	cpu0 := processCPU()
	b.ResetTimer()
	start := time.Now()
	// One goroutine offers the readings at rate, meter after meter, every
	// millisecond what is due by then (an edge's messages arrive so).
	for s := 0; s < n; {
		due := int(time.Since(start).Seconds() * float64(rate))
		for ; s < n && s <= due; s++ {
			i, k := s%meters, s/meters
			submitted := time.Now()
			p.SubmitChecked(msgs[i][k], keys[i], "bench", submitted, func(r ingest.Result) {
				if r.Reject != nil {
					b.Error(r.Reject)
				}
				mu.Lock()
				wait += time.Since(submitted)
				mu.Unlock()
				wg.Done()
			})
		}
		time.Sleep(time.Millisecond)
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric((processCPU()-cpu0).Seconds()/float64(n)*1e6, "cpu-us/reading")
	b.ReportMetric(wait.Seconds()/float64(n)*1e3, "ms-to-ledger")
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "readings/s")
}

// processCPU is this process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
