package mv_test

import (
	"context"
	"math"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/contract"
	et "github.com/shuixiao/shuixiao/internal/efficiency/efficiencytest"
	"github.com/shuixiao/shuixiao/internal/mv"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/postgres"
	"github.com/shuixiao/shuixiao/internal/store/postgres/pgtest"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
)

// BenchmarkComputeDaily3Years is the M&V use case over three years of
// daily baseline periods (1,095 days, hourly readings in a real store,
// compacted into its long-term layout with its consumption pre-totals) and
// one reporting month: the store read, the split into periods, the drivers
// from 1,126 daily production records, the fit and the statement (target
// < 50 ms). On each driver (SQLite; PostgreSQL where the test server
// answers) it runs the use case as served (pretotals: whole days from the
// store's pre-totals, the open days hour by hour) beside the same with the
// pre-totals hidden (hours: every one of the 27,000 hours read, as before
// them), and the evaluation alone (evaluate: no store read).
func BenchmarkComputeDaily3Years(b *testing.B) {
	ctx := context.Background()
	b.Run("sqlite", func(b *testing.B) {
		st, err := sqlite.Open(filepath.Join(b.TempDir(), "s.db"), sqlite.Options{ManualCompaction: true, Location: et.Zone})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchCompute(b, st)
	})
	b.Run("postgres", func(b *testing.B) {
		url, schema := pgtest.Schema(b)
		st, err := postgres.Open(ctx, url, postgres.Options{Schema: schema, ManualRollups: true, Location: et.Zone})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchCompute(b, st)
	})
}

// benchStore is what the benchmark fills: either driver.
type benchStore interface {
	mv.Store
	store.Registry
	store.Ingester
	AddProduction(ctx context.Context, recs []production.Record) ([]int64, error)
	Compact(ctx context.Context) error
}

// hoursOnly is a store whose pre-totals are hidden: it is not a
// store.TotalsReader, so every hour is read.
type hoursOnly struct{ mv.Store }

func benchCompute(b *testing.B, st benchStore) {
	ctx := context.Background()
	et.Register(b, st, meter.Enterprise{ID: "E", Name: "E", Park: "PK", Region: "430300", Industry: "1713"},
		[]meter.Point{et.Point("E", "IN", meter.Level1, meter.StageIntake, meter.SourceGround, "")})
	from, to := et.Day(2021, 1, 1), et.Day(2024, 2, 1)
	out := func(d time.Time) float64 { return 100 + 30*math.Sin(float64(d.Unix()/86400)/7) }
	f := et.Feeder{St: st}
	f.Feed(b, []string{"IN"}, from, to, time.Hour, func(_ string, at time.Time) float64 {
		d := at.In(et.Zone)
		day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, et.Zone)
		v := (500 + 4*out(day)) / 24
		if !at.Before(et.Day(2024, 1, 1)) {
			v *= 0.9
		}
		return v
	})
	dailyOutputCompacted(b, st, from, to, out)
	c := contract.Contract{ID: "C", Name: "C", Enterprise: "E", ServiceCompany: "S", Option: contract.WholeFacility,
		Granularity: contract.Daily, Baseline: contract.Span{From: from, To: et.Day(2024, 1, 1)},
		Reporting: []contract.Span{{From: et.Day(2024, 1, 1), To: to}},
		Drivers:   []contract.Driver{{Name: "production", Kind: contract.OutputDriver, Product: product}}, Status: contract.Active}
	var first contract.Record
	for _, v := range []struct {
		name string
		svc  *mv.Service
	}{{"pretotals", &mv.Service{Store: st}}, {"hours", &mv.Service{Store: hoursOnly{st}}}} {
		b.Run(v.name, func(b *testing.B) {
			// CPU time per operation beside the wall time: on a machine shared
			// by many processes the wall time mostly measures the wait for a core.
			cpu0 := cpuTime()
			defer func() { b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op") }()
			for b.Loop() {
				r, err := v.svc.Compute(ctx, c, 0, nil, contract.Checkpoint{})
				if err != nil {
					b.Fatal(err)
				}
				if len(r.Baseline) != 1095 || r.Statement.SavingsM3 <= 0 {
					b.Fatalf("%d baseline periods, savings %g", len(r.Baseline), r.Statement.SavingsM3)
				}
				if first.Statement.ID == "" {
					first = r
				} else if r.Statement != first.Statement {
					b.Fatalf("%s: statement %+v, the first was %+v", v.name, r.Statement, first.Statement)
				}
			}
		})
	}
	// The same without the store read: the ratio tells the store's share
	// on a loaded machine.
	d, err := (&mv.Service{Store: st}).Read(ctx, c, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("evaluate", func(b *testing.B) {
		cpu0 := cpuTime()
		defer func() { b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op") }()
		for b.Loop() {
			if _, err := contract.Evaluate(c, 0, d.Baseline, d.Reporting, nil, contract.Checkpoint{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// dailyOutputCompacted records E's output of each day from from to to,
// out(day), and compacts the store (its long-term layout and pre-totals).
func dailyOutputCompacted(tb testing.TB, st benchStore, from, to time.Time, out func(time.Time) float64) {
	ctx := context.Background()
	var recs []production.Record
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		recs = append(recs, production.Record{Enterprise: "E", Kind: production.Output, Product: product, Quantity: out(d), Unit: "100m",
			From: d, To: d.AddDate(0, 0, 1), ReportedBy: "tok", ReportedAt: time.Now()})
	}
	if _, err := st.AddProduction(ctx, recs); err != nil {
		tb.Fatal(err)
	}
	if err := st.Compact(ctx); err != nil {
		tb.Fatal(err)
	}
}

// cpuTime is the process's user and system CPU time (ns).
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
