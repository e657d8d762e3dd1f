package periodvol

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/postgres"
	"github.com/shuixiao/shuixiao/internal/store/postgres/pgtest"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// day is the period the tests read: a whole day in UTC.
var day = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

// newStore is a real store with n volume points P0000… of one enterprise,
// one meter each; meter i reports its total every step from the period's
// start for span, where step, span = every(i), and never if step is 0.
func newStore(tb testing.TB, n int, every func(i int) (time.Duration, time.Duration)) (*sqlite.Store, []meter.Point) {
	tb.Helper()
	st, err := sqlite.Open(filepath.Join(tb.TempDir(), "s.db"), sqlite.Options{ManualCompaction: true, Location: time.UTC})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st, fill(tb, st, n, every)
}

// newPostgres is newStore on PostgreSQL (a fresh schema).
func newPostgres(tb testing.TB, n int, every func(i int) (time.Duration, time.Duration)) (*postgres.Store, []meter.Point) {
	tb.Helper()
	url, schema := pgtest.Schema(tb)
	st, err := postgres.Open(context.Background(), url, postgres.Options{Schema: schema, Location: time.UTC, ManualRollups: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st, fill(tb, st, n, every)
}

// fill registers newStore's points and meters in st and commits their
// readings.
func fill(tb testing.TB, st store.Store, n int, every func(i int) (time.Duration, time.Duration)) []meter.Point {
	tb.Helper()
	ctx := context.Background()
	total, _ := meter.StandardChannel("total_m3")
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(st.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}))
	must(st.CreateEnterprise(ctx, meter.Enterprise{ID: "E", Name: "企业", Region: "430000", Industry: "3120"}))
	var pts []meter.Point
	var b store.Batch
	var idx uint64
	flush := func() {
		b.LedgerSize = idx
		must(st.Commit(ctx, &b))
		b = store.Batch{}
	}
	for i := range n {
		p := meter.Point{ID: fmt.Sprintf("P%04d", i), Enterprise: "E", Name: "点", Level: 2, Stage: meter.StageUse, Channels: []meter.Channel{total}}
		if i == 0 {
			p.Level, p.Stage, p.Source = 1, meter.StageIntake, meter.SourceGround
		}
		id := fmt.Sprintf("M%04d", i)
		_, vkey, err := note.GenerateKey(rand.Reader, reading.KeyName(id))
		must(err)
		must(st.CreatePoint(ctx, p))
		must(st.CreateMeter(ctx, meter.Meter{ID: id, Point: p.ID, Key: vkey, Signed: meter.SignedByMeter, Registered: day.Add(-time.Hour), Interval: time.Minute}))
		pts = append(pts, p)
		step, span := every(i)
		if step <= 0 {
			continue
		}
		for k := 0; time.Duration(k)*step <= span; k++ {
			at := day.Add(time.Duration(k) * step)
			r := store.Reading{Meter: id, Seq: uint64(k + 1), Time: at, Received: at, Index: idx,
				Values: []store.Value{{Channel: "total_m3", Value: 1000 + 0.5*float64(k)}}}
			binary.BigEndian.PutUint64(r.Hash[:8], idx+1)
			b.Readings = append(b.Readings, r)
			idx++
			if len(b.Readings) == 5000 {
				flush()
			}
		}
	}
	flush()
	return pts
}

func TestVolumes(t *testing.T) {
	// P0000 reports all day, P0001 for the first six hours, P0002 never.
	st, pts := newStore(t, 3, func(i int) (time.Duration, time.Duration) {
		switch i {
		case 0:
			return 15 * time.Minute, 24 * time.Hour
		case 1:
			return 15 * time.Minute, 6 * time.Hour
		}
		return 0, 0
	})
	vol, cov, err := Volumes(context.Background(), st, pts, day, day.AddDate(0, 0, 1), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := vol["P0000"]; !ok || v != 48 || cov["P0000"] != 1 {
		t.Errorf("P0000: %v %v coverage %v, want 48 m³ (96 × 0.5) at full coverage", v, ok, cov["P0000"])
	}
	if v, ok := vol["P0001"]; !ok || v != 12 || cov["P0001"] != 0.25 {
		t.Errorf("P0001: %v %v coverage %v, want 12 m³ (24 × 0.5) at coverage 0.25", v, ok, cov["P0001"])
	}
	if v, ok := vol["P0002"]; ok || cov["P0002"] != 0 {
		t.Errorf("P0002 has no reading: volume %v, coverage %v, want absent at 0", v, cov["P0002"])
	}
	// A point that measures no volume is not asked for.
	flow, _ := meter.StandardChannel("flow_m3h")
	vol, cov, err = Volumes(context.Background(), st, []meter.Point{{ID: "F", Channels: []meter.Channel{flow}}}, day, day.AddDate(0, 0, 1), nil)
	if err != nil || len(vol) != 0 || len(cov) != 0 {
		t.Errorf("no volume point: %v %v %v", vol, cov, err)
	}
}

// BenchmarkVolumesDay reads a day of 200 points reporting every minute —
// more than the demo province's volume points — at one day (the console's
// interval before), one hour (Interval) and 15 minutes (the balance
// alarm's before), and through Volumes.
func BenchmarkVolumesDay(b *testing.B) {
	st, pts := newStore(b, 200, func(int) (time.Duration, time.Duration) { return time.Minute, 24*time.Hour + time.Minute })
	ctx := context.Background()
	var series []store.Series
	for _, p := range pts {
		series = append(series, store.Series{Point: p.ID, Channel: "total_m3"})
	}
	for _, compacted := range []bool{false, true} {
		if compacted {
			if err := st.Compact(ctx); err != nil {
				b.Fatal(err)
			}
		}
		for _, iv := range []store.Interval{store.Day, store.Hour, store.Min15} {
			b.Run(fmt.Sprintf("compacted=%v/%s", compacted, iv), func(b *testing.B) {
				for b.Loop() {
					res, err := st.Consumption(ctx, store.ConsumptionQuery{Series: series, From: day, To: day.AddDate(0, 0, 1), Interval: iv, Location: time.UTC})
					if err != nil || len(res) != len(pts) {
						b.Fatal(len(res), err)
					}
				}
			})
		}
		b.Run(fmt.Sprintf("compacted=%v/Volumes", compacted), func(b *testing.B) {
			for b.Loop() {
				vol, _, err := Volumes(ctx, st, pts, day, day.AddDate(0, 0, 1), time.UTC)
				if err != nil || len(vol) != len(pts) {
					b.Fatal(len(vol), err)
				}
			}
		})
	}
}

// BenchmarkReadYearSparse reads the year to date of 2,000 points whose
// only readings (every 10 minutes) are in the period's last day — a
// deployment's first year, or meters added late — hour by hour (loc nil:
// the store's zone, which Fill does not probe) and with the months and
// days without value read at once (loc given). Both give the same totals.
func BenchmarkReadYearSparse(b *testing.B) {
	every := func(int) (time.Duration, time.Duration) { return 10 * time.Minute, 24 * time.Hour }
	st, pts := newStore(b, 2000, every)
	readYearSparse(b, st, pts)
}

// BenchmarkReadYearSparsePostgres is BenchmarkReadYearSparse on
// PostgreSQL, with 500 points.
func BenchmarkReadYearSparsePostgres(b *testing.B) {
	every := func(int) (time.Duration, time.Duration) { return 10 * time.Minute, 24 * time.Hour }
	st, pts := newPostgres(b, 500, every)
	readYearSparse(b, st, pts)
}

func readYearSparse(b *testing.B, st interface {
	Source
	Compact(context.Context) error
}, pts []meter.Point) {
	ctx := context.Background()
	if err := st.Compact(ctx); err != nil {
		b.Fatal(err)
	}
	var series []store.Series
	for _, p := range pts {
		series = append(series, store.Series{Point: p.ID, Channel: "total_m3"})
	}
	from, to := time.Date(day.Year(), 1, 1, 0, 0, 0, 0, time.UTC), day.AddDate(0, 0, 1)
	for _, c := range []struct {
		name string
		loc  *time.Location
	}{{"hourly", nil}, {"probed", time.UTC}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				res, err := Read(ctx, st, series, from, to, Interval, c.loc)
				if err != nil || len(res) != len(series) {
					b.Fatal(len(res), err)
				}
				if vol, cov := FromTotals(res); len(vol) != len(series) || cov["P0001"] != 24.0/float64(to.Sub(from)/time.Hour) {
					b.Fatal(len(vol), cov["P0001"])
				}
			}
		})
	}
}

// consumptionOnly hides a store's pre-totals.
type consumptionOnly struct{ Source }

// BenchmarkReadMonthDense is what reading months and days first costs
// where every hour has a value and there are no pre-totals: 30 days of 200
// points reporting every 15 minutes, uncompacted and compacted (pre-totals
// hidden), hour by hour (loc nil) and probed.
func BenchmarkReadMonthDense(b *testing.B) {
	st, pts := newStore(b, 200, func(int) (time.Duration, time.Duration) { return 15 * time.Minute, 30 * 24 * time.Hour })
	ctx := context.Background()
	var series []store.Series
	for _, p := range pts {
		series = append(series, store.Series{Point: p.ID, Channel: "total_m3"})
	}
	from, to := day, day.AddDate(0, 0, 30)
	for _, compacted := range []bool{false, true} {
		if compacted {
			if err := st.Compact(ctx); err != nil {
				b.Fatal(err)
			}
		}
		for _, c := range []struct {
			name string
			loc  *time.Location
		}{{"hourly", nil}, {"probed", time.UTC}} {
			b.Run(fmt.Sprintf("compacted=%v/%s", compacted, c.name), func(b *testing.B) {
				for b.Loop() {
					res, err := Read(ctx, consumptionOnly{st}, series, from, to, Interval, c.loc)
					if err != nil || len(res) != len(series) {
						b.Fatal(len(res), err)
					}
				}
			})
		}
	}
}

// countingSource counts the Consumption queries a read makes; its store's
// pre-totals are read as they are.
type countingSource struct {
	compactable
	calls int
}

type compactable interface {
	Source
	store.TotalsReader
	Compact(context.Context) error
}

func (c *countingSource) Consumption(ctx context.Context, q store.ConsumptionQuery) ([]store.SeriesBuckets, error) {
	c.calls++
	return c.compactable.Consumption(ctx, q)
}

// TestReadCallsBounded: series whose last readings are all at different
// times — every series of a live province — are read in a few
// Consumption queries, whatever their number, not one per series: the
// stretches Fill reads start and end on the bounds of the period, of the
// store's pre-totals and of the buckets of a level, never at a reading.
// The totals are those read hour by hour. On both drivers.
func TestReadCallsBounded(t *testing.T) {
	const n = 60
	// Every 10 minutes from the 27th, the last reading on the 28th at
	// 12:00 plus 7 minutes a series: each a different time.
	every := func(i int) (time.Duration, time.Duration) {
		return 10 * time.Minute, 36*time.Hour + time.Duration(i)*7*time.Minute
	}
	t.Run("sqlite", func(t *testing.T) {
		st, pts := newStore(t, n, every)
		readCallsBounded(t, st, pts)
	})
	t.Run("postgres", func(t *testing.T) {
		st, pts := newPostgres(t, n, every)
		readCallsBounded(t, st, pts)
	})
}

func readCallsBounded(t *testing.T, st compactable, pts []meter.Point) {
	ctx := context.Background()
	if err := st.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	var series []store.Series
	for _, p := range pts {
		series = append(series, store.Series{Point: p.ID, Channel: "total_m3"})
	}
	from, to := time.Date(day.Year(), 1, 1, 0, 0, 0, 0, time.UTC), day.AddDate(0, 0, 2)
	src := &countingSource{compactable: st}
	got, err := Read(ctx, src, series, from, to, Interval, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if src.calls > 6 {
		t.Errorf("%d Consumption queries for %d series, want at most 6 (a few a level)", src.calls, len(series))
	}
	hourly, err := Read(ctx, consumptionOnly{st}, series, from, to, Interval, nil)
	if err != nil {
		t.Fatal(err)
	}
	vol, cov := FromTotals(got)
	wantVol, wantCov := FromTotals(hourly)
	if len(vol) != len(series) {
		t.Fatalf("%d volumes for %d series", len(vol), len(series))
	}
	for id, v := range wantVol {
		if vol[id] != v || cov[id] != wantCov[id] {
			t.Errorf("%s: %v m³ at coverage %v, hour by hour %v at %v", id, vol[id], cov[id], v, wantCov[id])
		}
	}
	t.Logf("%d series read in %d Consumption queries", len(series), src.calls)
}
