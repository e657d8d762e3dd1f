package watercarbon

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/carbon"
	et "github.com/shuixiao/shuixiao/internal/efficiency/efficiencytest"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
)

// hoursOnly hides a store's pre-totals: every hour is read.
type hoursOnly struct{ Source }

// counting counts the pre-totals a computation read.
type counting struct {
	*sqlite.Store
	totals int
}

func (c *counting) ConsumptionTotals(ctx context.Context, q store.ConsumptionQuery) ([]store.SeriesTotals, error) {
	res, err := c.Store.ConsumptionTotals(ctx, q)
	for _, st := range res {
		c.totals += len(st.Totals)
	}
	return res, err
}

// yearToDate registers n enterprises in park PK, each with an intake and a
// discharge point, and feeds them hourly readings from 1 January to the
// day's noon, compacted into the store's long-term layout with its
// pre-totals; it returns the time 20 minutes later.
func yearToDate(tb testing.TB, n int, day time.Time) (*sqlite.Store, time.Time) {
	tb.Helper()
	st, err := sqlite.Open(filepath.Join(tb.TempDir(), "s.db"), sqlite.Options{ManualCompaction: true, Location: et.Zone})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	var ids []string
	for i := range n {
		e := fmt.Sprintf("E%04d", i)
		et.Register(tb, st, meter.Enterprise{ID: e, Name: e, Park: "PK", Region: "430300", Industry: "3120"}, []meter.Point{
			et.Point(e, e+"-IN", meter.Level1, meter.StageIntake, meter.SourceGround, ""),
			et.Point(e, e+"-OUT", meter.Level1, meter.StageDischarge, "", "")})
		ids = append(ids, e+"-IN", e+"-OUT")
	}
	f := et.Feeder{St: st}
	f.Feed(tb, ids, et.Day(2026, 1, 1), day.Add(12*time.Hour), time.Hour, func(p string, at time.Time) float64 {
		v := 10 + 3*math.Sin(float64(at.Unix())/5e4) + float64(len(p)%7)
		if p[len(p)-1] == 'T' { // discharge
			v *= 0.6
		}
		return v
	})
	if err := st.Compact(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return st, day.Add(12*time.Hour + 20*time.Minute)
}

// TestPreTotalsSameAccounts: the accounts read from the store's pre-totals
// are, to the last bit, those read hour by hour — also after a late
// reading that moves volume between closed days, before and after it is
// compacted.
func TestPreTotalsSameAccounts(t *testing.T) {
	ctx := context.Background()
	st, now := yearToDate(t, 2, et.Day(2026, 2, 11))
	tables, err := carbon.Load()
	if err != nil {
		t.Fatal(err)
	}
	same := func(stage string) *Snapshot {
		t.Helper()
		c := &counting{Store: st}
		pre, err := Compute(ctx, c, tables, "430000", 2026, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		byHour, err := Compute(ctx, hoursOnly{st}, tables, "430000", 2026, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(pre, byHour) {
			t.Errorf("%s: from pre-totals %+v\nhour by hour %+v", stage, pre, byHour)
		}
		// 4 series × (January + 10 days) when all are current.
		if c.totals < 4*11-2 {
			t.Errorf("%s: %d pre-totals read, want most of 44", stage, c.totals)
		}
		if pre.Enterprises["E0001"].IntakeM3 <= 0 || pre.Enterprises["E0001"].DischargeM3 <= 0 {
			t.Errorf("%s: E0001 %+v", stage, pre.Enterprises["E0001"])
		}
		return pre
	}
	before := same("compacted")
	// A late reading of E0001's intake on 5 February whose register has
	// fallen below half: a counter reset, counted from zero, which adds the
	// register before it (r0) to the year's intake. The day's pre-totals
	// stop being current.
	page, err := st.Readings(ctx, store.ReadingQuery{Meter: "M-E0001-IN", From: et.Day(2026, 2, 5), Limit: 1})
	if err != nil || len(page.Readings) != 1 {
		t.Fatalf("reading of 5 February: %v %v", page, err)
	}
	r0, _ := page.Readings[0].Value("total_m3")
	late := store.Reading{Meter: "M-E0001-IN", Seq: 1 << 40, Time: et.Day(2026, 2, 5).Add(30 * time.Minute), Received: now, Index: 1 << 40,
		Values: []store.Value{{Channel: "total_m3", Value: r0 / 3}}}
	late.Hash[0] = 1
	if err := st.Commit(ctx, &store.Batch{Readings: []store.Reading{late}}); err != nil {
		t.Fatal(err)
	}
	head := same("late reading in the head")
	if got, was := head.Enterprises["E0001"].IntakeM3, before.Enterprises["E0001"].IntakeM3; math.Abs(got-(was+r0)) > 1e-6 {
		t.Errorf("E0001's intake after a reset at %v m³: %v, was %v", r0, got, was)
	}
	if err := st.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if after := same("late reading compacted"); after.Enterprises["E0001"].IntakeM3 != head.Enterprises["E0001"].IntakeM3 {
		t.Errorf("E0001's intake once compacted %v, from the head %v", after.Enterprises["E0001"].IntakeM3, head.Enterprises["E0001"].IntakeM3)
	}
}

// BenchmarkYearToDate computes the accounts of SHUIXIAO_BENCH_ENTERPRISES
// enterprises (default 200) with an intake and a discharge point each,
// hourly readings from 1 January to 11 March 12:00, compacted: as served
// (pretotals: the store's month and day pre-totals, today's hours one by
// one) beside the same with the pre-totals hidden (hours: every hour of
// the year so far, as before them).
func BenchmarkYearToDate(b *testing.B) {
	n := 200
	if v, err := strconv.Atoi(os.Getenv("SHUIXIAO_BENCH_ENTERPRISES")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	st, now := yearToDate(b, n, et.Day(2026, 3, 11))
	tables, err := carbon.Load()
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range []struct {
		name string
		src  Source
	}{{"pretotals", st}, {"hours", hoursOnly{st}}} {
		b.Run(v.name, func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				s, err := Compute(ctx, v.src, tables, "430000", 2026, now, nil)
				if err != nil {
					b.Fatal(err)
				}
				if s.Province.Enterprises != n || s.Province.IntakeM3 <= 0 {
					b.Fatalf("province %+v", s.Province)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
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
