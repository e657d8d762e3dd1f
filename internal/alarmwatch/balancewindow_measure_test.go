package alarmwatch

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/postgres"
	"github.com/shuixiao/shuixiao/internal/store/postgres/pgtest"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
)

// measureStore is what the measurement needs of a store.
type measureStore interface {
	Store
	BalanceStore
	store.Registry
	Commit(ctx context.Context, b *store.Batch) error
	ReadingBySeq(ctx context.Context, meterID string, seq uint64) (store.Reading, error)
}

// cpuNow is the process's user and system CPU time so far.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestMeasureBalanceRound measures the CPU of balance rounds that read
// every window against rounds that keep them, interleaved on one SQLite
// store: 2,000 enterprises of 10 points, 1 % of them given readings before
// each round, rounds 5 min apart. It runs only with SHUIXIAO_MEASURE=1 (it
// takes about 90 s), or =pg on PostgreSQL (pgtest); the figures are logged
// with the load average.
func TestMeasureBalanceRound(t *testing.T) {
	if os.Getenv("SHUIXIAO_MEASURE") == "" {
		t.Skip("set SHUIXIAO_MEASURE=1 to measure")
	}
	const ents, pts = 2000, 10
	ctx := context.Background()
	var st measureStore
	if os.Getenv("SHUIXIAO_MEASURE") == "pg" {
		url, schema := pgtest.Schema(t)
		pg, err := postgres.Open(ctx, url, postgres.Options{Schema: schema, MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		defer pg.Close()
		st = pg
	} else {
		sq, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"), sqlite.Options{ManualCompaction: true})
		if err != nil {
			t.Fatal(err)
		}
		defer sq.Close()
		st = sq
	}
	clk := &clock{t: time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)}
	total, _ := meter.StandardChannel("total_m3")
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}))

	for e := 0; e < ents; e++ {
		eid := fmt.Sprintf("E%04d", e)
		must(st.CreateEnterprise(ctx, meter.Enterprise{ID: eid, Name: eid, Region: "430000", Industry: "3120"}))
		for p := 0; p < pts; p++ {
			pid := fmt.Sprintf("%s-P%d", eid, p)
			pt := meter.Point{ID: pid, Enterprise: eid, Name: pid, Level: 2, Stage: meter.StageUse, Parent: eid + "-P0", Channels: []meter.Channel{total}}
			if p == 0 {
				pt = meter.Point{ID: pid, Enterprise: eid, Name: pid, Level: 1, Stage: meter.StageIntake, Source: meter.SourceGround, Channels: []meter.Channel{total}}
			}
			must(st.CreatePoint(ctx, pt))
			must(st.CreateMeter(ctx, meter.Meter{ID: "M-" + pid, Point: pid, Key: key(t, "M-"+pid), Signed: meter.SignedByMeter, Registered: clk.now().Add(-8 * time.Hour), Interval: 15 * time.Minute}))
		}
	}
	var idx uint64
	seq := map[string]uint64{}
	reading := func(mid string, at time.Time, v float64) store.Reading {
		seq[mid]++
		r := store.Reading{Meter: mid, Seq: seq[mid], Time: at, Received: at, Index: idx, Values: []store.Value{{Channel: "total_m3", Value: v}}}
		r.Hash[0], r.Hash[1], r.Hash[2] = byte(idx), byte(idx>>8), byte(idx>>16)
		idx++
		return r
	}
	value := func(p int, at time.Time) float64 {
		per := 9.0
		if p > 0 {
			per = 1
		}
		return 1000 + per*at.Sub(time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)).Minutes()/15
	}
	start := clk.now().Add(-7 * time.Hour)
	for e := 0; e < ents; e++ {
		var b store.Batch
		for p := 0; p < pts; p++ {
			mid := fmt.Sprintf("M-E%04d-P%d", e, p)
			for at := start; !at.After(clk.now()); at = at.Add(15 * time.Minute) {
				b.Readings = append(b.Readings, reading(mid, at, value(p, at)))
			}
		}
		b.LedgerSize = idx
		must(st.Commit(ctx, &b))
	}
	clk.add(time.Minute)
	mk := func(full bool) *Monitor {
		m := New(Options{Store: st, Now: clk.now, Logger: slog.New(slog.DiscardHandler), Balance: BalanceCheck{Store: st, Window: 6 * time.Hour}})
		m.fullBalance = full
		return m
	}
	old, nu := mk(true), mk(false)
	watched := nu.CommitsTo(st)
	var tOld, tNew time.Duration
	rounds := 12
	for r := 0; r < rounds; r++ {
		clk.add(5 * time.Minute)
		var b store.Batch
		var c ingest.Committed
		for e := r * 20; e < r*20+ents/100; e++ {
			for p := 0; p < pts; p++ {
				mid := fmt.Sprintf("M-E%04d-P%d", e%ents, p)
				rd := reading(mid, clk.now(), value(p, clk.now()))
				b.Readings = append(b.Readings, rd)
			}
		}
		b.LedgerSize = idx
		must(watched.Commit(ctx, &b))
		c.Readings = b.Readings
		old.Committed(&c)
		nu.Committed(&c)
		run := func(m *Monitor) time.Duration {
			c0 := cpuNow()
			m.checkBalances(ctx)
			return cpuNow() - c0
		}
		var a, n time.Duration
		if r%2 == 0 {
			a = run(old)
			n = run(nu)
		} else {
			n = run(nu)
			a = run(old)
		}
		if r > 0 { // first round fills the kept windows
			tOld += a
			tNew += n
		}
		la, _ := os.ReadFile("/proc/loadavg")
		t.Logf("round %2d %s old %v new %v load %s", r, clk.now().Format("15:04"), a.Round(time.Millisecond), n.Round(time.Millisecond), la[:14])
	}
	t.Logf("mean over %d rounds: old %v new %v", rounds-1, (tOld / time.Duration(rounds-1)).Round(time.Millisecond), (tNew / time.Duration(rounds-1)).Round(time.Millisecond))
}
