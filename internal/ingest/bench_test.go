package ingest_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"k8s.io/klog/v2"

	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/ledger"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/sigcheck"
)

// TestMain keeps Tessera's klog lines out of benchmark output.
func TestMain(m *testing.M) {
	klog.SetSlogLogger(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

// BenchmarkPipeline measures the server side of ingest without MQTT: signature
// checks on many goroutines, admission, a real Tessera ledger and the SQLite
// store, each reading acknowledged only when durable. It reports
// readings/s; compare it with BenchmarkVerify, the signature ceiling.
func BenchmarkPipeline(b *testing.B) {
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
	const meters = 200
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(st.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}))
	must(st.CreateEnterprise(ctx, meter.Enterprise{ID: "E", Name: "E", Region: "430000", Industry: "3120"}))
	dirc := ingest.NewDirectory()
	total, _ := meter.StandardChannel("total_m3")
	flow, _ := meter.StandardChannel("flow_m3h")
	press, _ := meter.StandardChannel("pressure_mpa")
	temp, _ := meter.StandardChannel("temp_c")
	type dev struct {
		id     string
		signer note.Signer
	}
	devs := make([]dev, meters)
	for i := range devs {
		id := fmt.Sprintf("B%04d", i)
		skey, vkey, _ := note.GenerateKey(rand.Reader, reading.KeyName(id))
		s, _ := note.NewSigner(skey)
		p := meter.Point{ID: "P" + id, Enterprise: "E", Name: id, Level: 3, Stage: meter.StageUse, Channels: []meter.Channel{total, flow, press, temp}}
		m := meter.Meter{ID: id, Point: p.ID, Key: vkey, Signed: meter.SignedByMeter}
		must(st.CreatePoint(ctx, p))
		must(st.CreateMeter(ctx, m))
		must(dirc.Put(m, p, "E"))
		devs[i] = dev{id, s}
	}
	per := b.N/meters + 1
	msgs := make([][][]byte, meters)
	now := time.Now()
	for i, d := range devs {
		var prev reading.Hash
		for seq := 1; seq <= per; seq++ {
			r := &reading.Reading{Meter: d.id, Seq: uint64(seq), Time: now, Prev: prev, Point: "P" + d.id, Values: []reading.Value{
				{Channel: "total_m3", Value: float64(seq)}, {Channel: "flow_m3h", Value: 2.5},
				{Channel: "pressure_mpa", Value: 0.4}, {Channel: "temp_c", Value: 20.5}}}
			msg, err := reading.Sign(r, d.signer)
			must(err)
			prev = reading.HashOf(msg)
			msgs[i] = append(msgs[i], msg)
		}
	}
	p, err := ingest.New(ingest.Options{Ledger: lg, Store: st, Directory: dirc})
	must(err)
	defer p.Close()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range devs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem := make(chan struct{}, 16) // readings in flight per meter, as over MQTT
			var inner sync.WaitGroup
			for _, msg := range msgs[i] {
				sem <- struct{}{}
				inner.Add(1)
				p.Submit(msg, devs[i].id, "bench", func(r ingest.Result) {
					if r.Reject != nil {
						b.Error(r.Reject)
					}
					<-sem
					inner.Done()
				})
			}
			inner.Wait()
		}(i)
	}
	wg.Wait()
	b.ReportMetric(float64(per*meters)/time.Since(start).Seconds(), "readings/s")
}

// BenchmarkVerify is the raw signature-check ceiling of one core: note.Open
// of one reading with note's own verifier (crypto/ed25519) and with the
// one ingest's directory uses (sigcheck, its key's table built).
func BenchmarkVerify(b *testing.B) {
	skey, vkey, _ := note.GenerateKey(rand.Reader, reading.KeyName("M"))
	s, _ := note.NewSigner(skey)
	msg, _ := reading.Sign(&reading.Reading{Meter: "M", Seq: 1, Time: time.Now(), Point: "P",
		Values: []reading.Value{{Channel: "total_m3", Value: 1}}}, s)
	std, _ := note.NewVerifier(vkey)
	fast, _ := sigcheck.NewNoteVerifier(vkey, sigcheck.NewTables(1))
	for _, bc := range []struct {
		name string
		v    note.Verifier
	}{{"crypto-ed25519", std}, {"sigcheck", fast}} {
		b.Run(bc.name, func(b *testing.B) {
			vl := note.VerifierList(bc.v)
			for range sigcheck.HotAfter {
				note.Open(msg, vl)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := note.Open(msg, vl); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
		})
	}
}
