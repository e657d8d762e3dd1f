package verify

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// BenchmarkReadingSignature is the single-core cost of checking one
// reading's signature (note.Open): the ceiling Audit divides among workers.
func BenchmarkReadingSignature(b *testing.B) {
	m := newTestMeter(b, "HN-1")
	msg := m.next(b)
	v, _ := note.NewVerifier(m.vkey)
	vs := note.VerifierList(v)
	b.ResetTimer()
	for range b.N {
		if _, err := note.Open(msg, vs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
}

// BenchmarkVerifyReceipt is the cost of checking one witnessed receipt offline.
func BenchmarkVerifyReceipt(b *testing.B) {
	k := newTestKeys(b, origin, 2)
	m := newTestMeter(b, "HN-1")
	entries := [][]byte{k.register(b, m)}
	for range 999 {
		entries = append(entries, m.next(b))
	}
	receipt := k.receipt(b, entries, 777)
	pol, _ := ParsePolicy(k.policyText(2))
	mv, _ := note.NewVerifier(m.vkey)
	keys := ReceiptKeys{Log: k.logKey, Policy: pol, Meter: mv}
	b.ResetTimer()
	for range b.N {
		if _, err := VerifyReceipt(receipt, keys); err != nil {
			b.Fatal(err)
		}
	}
}

// enterpriseYear builds, in dir, a ledger holding one enterprise's year:
// 20 metering points (intakes, units, recirculation, cascades, discharges)
// with one meter each, reading a register and a flow every 15 minutes
// through 2026 (Asia/Shanghai) — 701,000 signed readings. Readings are
// signed on every core and the tiles written directly (testKeys.writeTiles).
func enterpriseYear(b *testing.B, dir string, days int) *testKeys {
	k := newTestKeys(b, origin, 0)
	total := meter.Channel{Name: "total_m3", Quantity: "volume", Unit: "m3", Kind: meter.Total, Rollover: 9999999.99, Max: 1e9}
	flow := meter.Channel{Name: "flow_m3h", Quantity: "flow", Unit: "m3/h", Kind: meter.Rate, Max: 1e4}
	chans := []meter.Channel{total, flow}
	points := []meter.Point{
		{ID: "Y-I1", Level: meter.Level1, Stage: meter.StageIntake, Source: meter.SourceGround},
		{ID: "Y-I2", Level: meter.Level1, Stage: meter.StageIntake, Source: meter.SourceReclaimed},
		{ID: "Y-D1", Level: meter.Level1, Stage: meter.StageDischarge},
		{ID: "Y-D2", Level: meter.Level2, Stage: meter.StageDischarge, Outflow: meter.OutflowConsumption},
	}
	for u := 1; u <= 10; u++ {
		purpose := []meter.Purpose{meter.PurposeProcess, meter.PurposeIndirectCooling, meter.PurposeBoiler, meter.PurposeDomestic}[u%4]
		points = append(points, meter.Point{ID: fmt.Sprintf("Y-U%02d", u), Level: meter.Level2, Stage: meter.StageUse, Parent: "Y-I1", Purpose: purpose})
	}
	for r := 1; r <= 4; r++ {
		points = append(points, meter.Point{ID: fmt.Sprintf("Y-R%d", r), Level: meter.Level3, Stage: meter.StageRecirculation, Parent: fmt.Sprintf("Y-U%02d", r)})
	}
	points = append(points, meter.Point{ID: "Y-C1", Level: meter.Level3, Stage: meter.StageCascade, Parent: "Y-U05", From: "Y-U06"},
		meter.Point{ID: "Y-C2", Level: meter.Level3, Stage: meter.StageCascade, Parent: "Y-U07", Reuse: meter.ReuseWastewater})
	var head [][]byte
	meters := make([]*balanceMeter, len(points))
	for i := range points {
		points[i].Enterprise, points[i].Channels = "EY", chans
		head = append(head, k.point(b, points[i]))
		var e []byte
		meters[i], e = k.balanceMeter(b, "MY-"+points[i].ID, "EY", points[i].ID, "total_m3")
		head = append(head, e)
	}
	start := time.Date(2025, 12, 31, 23, 45, 0, 0, cst)
	steps := days*96 + 2
	per := make([][][]byte, len(meters))
	var wg sync.WaitGroup
	next := make(chan int, len(meters))
	for i := range meters {
		next <- i
	}
	close(next)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				m := meters[i]
				out := make([][]byte, 0, steps)
				for s := range steps {
					m.seq++
					r := &reading.Reading{Meter: m.id, Seq: m.seq, Prev: m.prev, Point: m.point, Time: start.Add(time.Duration(s) * 15 * time.Minute),
						Values: []reading.Value{{Channel: "total_m3", Value: 1000*float64(i) + 0.25*float64(s) + 0.001*float64(s%7)}, {Channel: "flow_m3h", Value: float64(s % 13)}}}
					msg, err := reading.Sign(r, m.signer)
					if err != nil {
						panic(err)
					}
					m.prev = reading.HashOf(msg)
					out = append(out, msg)
				}
				per[i] = out
			}
		}()
	}
	wg.Wait()
	entries := head
	for s := range steps { // interleaved, as meters report
		for i := range meters {
			entries = append(entries, per[i][s])
		}
	}
	k.writeTiles(b, dir, entries)
	return k
}

// BenchmarkBalanceEnterpriseYear is `shuixiao verify balance` for one
// enterprise-year from a ledger directory: the whole-log audit and the
// recomputation in one pass. "first" checks every signature, the root and
// every tile; "first-crypto-ed25519" is the same with note's own verifiers
// (crypto/ed25519, as before package sigcheck), for the ratio in one run;
// "audited" is the same run given the checkpoint of an earlier
// passing audit of the year (verify log --save, then --audited): the
// readings' signatures below it are not checked again, everything else is.
// Run with -benchtime 1x; -short builds 30 days instead of 365.
func BenchmarkBalanceEnterpriseYear(b *testing.B) {
	days := 365
	if testing.Short() {
		days = 30
	}
	dir := b.TempDir()
	t0 := time.Now()
	k := enterpriseYear(b, dir, days)
	b.Logf("built a ledger of %d days in %.1f s", days, time.Since(t0).Seconds())
	f, err := NewFetcher(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	audited, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		b.Fatal(err)
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, cst)
	for _, bc := range []struct {
		name          string
		audited       []byte
		noteVerifiers bool
	}{{"first-crypto-ed25519", nil, true}, {"first", nil, false}, {"audited", audited, false}} {
		b.Run(bc.name, func(b *testing.B) {
			b.Logf("load average %s", loadAverage())
			cpu0 := cpuTime()
			var res *BalanceResult
			for range b.N {
				res, err = Balance(context.Background(), f, BalanceOptions{Audit: AuditOptions{LogKey: k.logKey, Audited: bc.audited, noteVerifiers: bc.noteVerifiers},
					Enterprise: "EY", From: from, To: from.AddDate(0, 0, days), ValueAdded: 1000})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			cpu := cpuTime() - cpu0
			if res.Audit.Failed(false) || len(res.Volumes) != 20 || res.Readings != 20*days*96 {
				b.Fatalf("audit failed %v, %d volumes, %d readings", res.Audit.Failed(false), len(res.Volumes), res.Readings)
			}
			b.ReportMetric(float64(res.Audit.Readings), "readings")
			b.ReportMetric(float64(res.Audit.Readings)*float64(b.N)/b.Elapsed().Seconds(), "readings/s")
			// CPU time says what the run costs whatever else the machine
			// runs: on an idle machine the wall time is about cpu-s/op
			// over the cores the signature checks spread on.
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

// loadAverage is the machine's 1-, 5- and 15-minute load average.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
