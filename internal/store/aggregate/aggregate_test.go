package aggregate

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

var shanghai = time.FixedZone("CST", 8*3600)

func TestGridShanghaiDays(t *testing.T) {
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, shanghai)
	g, err := NewGrid(from, from.AddDate(0, 0, 3), store.Day, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	if g.Len() != 3 {
		t.Fatalf("%d buckets, want 3", g.Len())
	}
	for i, b := range g.Bounds {
		want := time.Date(2026, 11, 1+i, 0, 0, 0, 0, shanghai)
		if b != want.UnixMilli() {
			t.Errorf("bound %d = %s, want %s (local midnight)", i, time.UnixMilli(b).In(shanghai), want)
		}
	}
	// 23:59:59.999 local belongs to the day, 00:00 to the next.
	if k := g.Find(time.Date(2026, 11, 1, 23, 59, 59, 999e6, shanghai).UnixMilli()); k != 0 {
		t.Errorf("last ms of day 1 in bucket %d", k)
	}
	if k := g.Find(time.Date(2026, 11, 2, 0, 0, 0, 0, shanghai).UnixMilli()); k != 1 {
		t.Errorf("midnight of day 2 in bucket %d", k)
	}
	// The UTC hour 15:00-16:00 is 23:00-24:00 in Shanghai: inside day 1; an
	// hour from 15:30 UTC crosses local midnight.
	h := time.Date(2026, 11, 1, 15, 0, 0, 0, time.UTC).UnixMilli()
	if !g.Holds(h, h+3600_000-1) {
		t.Error("23:00-24:00 local not inside one day")
	}
	if g.Holds(h+1800_000, h+5400_000-1) {
		t.Error("an hour across local midnight inside one day")
	}
}

func TestGridIntervals(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tz database:", err) // the Shanghai tests above use a fixed zone
	}
	for _, tc := range []struct {
		name     string
		from, to time.Time
		iv       store.Interval
		loc      *time.Location
		n        int
		firstLen time.Duration
	}{
		{"15 min over a day", time.Date(2026, 11, 1, 0, 0, 0, 0, shanghai), time.Date(2026, 11, 2, 0, 0, 0, 0, shanghai), store.Min15, shanghai, 96, 15 * time.Minute},
		{"unaligned start", time.Date(2026, 11, 1, 0, 7, 0, 0, shanghai), time.Date(2026, 11, 1, 1, 0, 0, 0, shanghai), store.Min15, shanghai, 4, 8 * time.Minute},
		{"hours", time.Date(2026, 11, 1, 0, 0, 0, 0, shanghai), time.Date(2026, 11, 2, 0, 0, 0, 0, shanghai), store.Hour, shanghai, 24, time.Hour},
		{"months", time.Date(2026, 1, 1, 0, 0, 0, 0, shanghai), time.Date(2027, 1, 1, 0, 0, 0, 0, shanghai), store.Month, shanghai, 12, 31 * 24 * time.Hour},
		{"DST day is 23 h", time.Date(2026, 3, 29, 0, 0, 0, 0, berlin), time.Date(2026, 3, 31, 0, 0, 0, 0, berlin), store.Day, berlin, 2, 23 * time.Hour},
		{"DST end day is 25 h", time.Date(2026, 10, 25, 0, 0, 0, 0, berlin), time.Date(2026, 10, 26, 0, 0, 0, 0, berlin), store.Day, berlin, 1, 25 * time.Hour},
	} {
		g, err := NewGrid(tc.from, tc.to, tc.iv, tc.loc)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if g.Len() != tc.n {
			t.Errorf("%s: %d buckets, want %d", tc.name, g.Len(), tc.n)
		}
		if d := time.Duration(g.Bounds[1]-g.Bounds[0]) * time.Millisecond; d != tc.firstLen {
			t.Errorf("%s: first bucket %v, want %v", tc.name, d, tc.firstLen)
		}
	}
	if _, err := NewGrid(time.Unix(0, 0), time.Unix(0, 0), store.Day, nil); err == nil {
		t.Error("empty range accepted")
	}
	if _, err := NewGrid(time.Unix(0, 0), time.Unix(1e9, 0), store.Min15, nil); err == nil {
		t.Error("a million buckets accepted")
	}
}

func at(day, hour, minute int) int64 {
	return time.Date(2026, 11, day, hour, minute, 0, 0, shanghai).UnixMilli()
}

func singles(ps []Point) []Summary {
	out := make([]Summary, len(ps))
	for i, p := range ps {
		out[i] = Single(p)
	}
	return out
}

// TestConsumptionGolden works a rollover, a day boundary and a two-day gap
// by hand.
func TestConsumptionGolden(t *testing.T) {
	c := CounterFor(meter.Channel{Kind: meter.Total, Rollover: 99999.99})
	ps := []Point{
		{T: at(1, 22, 0), V: 99990.00},
		{T: at(1, 23, 0), V: 99995.00}, // +5 in day 1
		{T: at(2, 1, 0), V: 3.00},      // +8 across the wrap over 2 h: 4 to day 1, 4 to day 2
		{T: at(2, 12, 0), V: 25.00},    // +22 in day 2
		{T: at(4, 0, 0), V: 73.00},     // +48 over 36 h: 16 to day 2, 32 to day 3, none to day 4
	}
	g, err := NewGrid(time.UnixMilli(at(1, 0, 0)), time.UnixMilli(at(5, 0, 0)), store.Day, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	accs := make([]Acc, g.Len())
	Accumulate(accs, g, singles(ps), meter.Total, c)
	got, err := Finalize(accs, g, meter.Total, store.Delta)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		v     float64
		valid bool
		n     int
	}{{9, true, 2}, {42, true, 2}, {32, true, 0}, {0, false, 1}}
	for i, w := range want {
		b := got[i]
		if math.Abs(b.Value-w.v) > 1e-9 || b.Valid != w.valid || b.N != w.n {
			t.Errorf("day %d: got %+v, want value %v valid %v n %d", i+1, b, w.v, w.valid, w.n)
		}
	}
	// Other functions on the same buckets.
	last, _ := Finalize(accs, g, meter.Total, store.Last)
	if last[1].Value != 25 || last[3].Value != 73 {
		t.Errorf("last: %+v", last)
	}
	if _, err := Finalize(accs, g, meter.Rate, store.Delta); err == nil {
		t.Error("delta on a rate accepted")
	}
}

// TestIntervalTotals: a daily frozen volume stamped 00:00 belongs to the day
// that ended.
func TestIntervalTotals(t *testing.T) {
	ps := []Point{
		{T: EffectiveTime(meter.Interval, at(2, 0, 0)), V: 120}, // day 1's volume
		{T: EffectiveTime(meter.Interval, at(3, 0, 0)), V: 130}, // day 2's
		{T: EffectiveTime(meter.Interval, at(3, 12, 0)), V: 5},  // half of day 3
	}
	g, _ := NewGrid(time.UnixMilli(at(1, 0, 0)), time.UnixMilli(at(4, 0, 0)), store.Day, shanghai)
	accs := make([]Acc, g.Len())
	Accumulate(accs, g, singles(ps), meter.Interval, Counter{})
	got, _ := Finalize(accs, g, meter.Interval, store.Delta)
	for i, want := range []float64{120, 130, 5} {
		if got[i].Value != want || !got[i].Valid {
			t.Errorf("day %d: %+v, want %v", i+1, got[i], want)
		}
	}
}

// reference computes a bucket's consumption independently of apportion: the
// register (adjusted for wraps and resets) is interpolated linearly at the
// bucket's edges and held flat before the first and after the last reading.
func reference(ps []Point, c Counter) func(a, b int64) float64 {
	cum := make([]float64, len(ps))
	for i := 1; i < len(ps); i++ {
		cum[i] = cum[i-1] + c.Increment(ps[i-1].V, ps[i].V)
	}
	at := func(t int64) float64 {
		switch {
		case t <= ps[0].T:
			return 0
		case t >= ps[len(ps)-1].T:
			return cum[len(cum)-1]
		}
		i := sort.Search(len(ps), func(i int) bool { return ps[i].T >= t })
		f := float64(t-ps[i-1].T) / float64(ps[i].T-ps[i-1].T)
		return cum[i-1] + f*(cum[i]-cum[i-1])
	}
	return func(a, b int64) float64 { return at(b) - at(a) }
}

// randomTotaliser makes a register series with small gaps, a long gap,
// rollovers, a reset and reverse-flow wiggles, sampled at irregular times.
func randomTotaliser(r *rand.Rand, start int64, n int, modulus float64) []Point {
	ps := make([]Point, 0, n)
	t, v := start, modulus-float64(r.IntN(500))-r.Float64()
	for i := 0; i < n; i++ {
		t += int64(30_000 + r.IntN(90_000))
		if r.IntN(500) == 0 {
			t += int64(r.IntN(3)+1) * 24 * 3600_000 // a gap of days
		}
		switch {
		case r.IntN(700) == 0 && v > 10:
			v = r.Float64() * 2 // reset
		case r.IntN(50) == 0:
			v -= r.Float64() * 0.01 // reverse flow
		default:
			v += r.Float64() * 3
		}
		if v >= modulus {
			v -= modulus
		}
		if v < 0 {
			v = 0
		}
		v = math.Round(v*1000) / 1000
		ps = append(ps, Point{T: t, V: v, Seq: uint64(i + 1)})
	}
	return ps
}

// summarizeHours replaces every second hour's points by its Summary, as a
// store does with compacted hours.
func summarizeHours(ps []Point, c Counter) []Summary {
	var out []Summary
	for i := 0; i < len(ps); {
		h := ps[i].T / 3600_000
		j := i
		for j < len(ps) && ps[j].T/3600_000 == h {
			j++
		}
		if h%2 == 0 {
			out = append(out, Summarize(ps[i:j], c))
		} else {
			out = append(out, singles(ps[i:j])...)
		}
		i = j
	}
	return out
}

func TestConsumptionProperties(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		c := Counter{Modulus: 100000}
		start := time.Date(2026, 10, 1, 0, 0, 0, 0, shanghai)
		ps := randomTotaliser(r, start.UnixMilli(), 5000, c.Modulus)
		// Shuffle and duplicate, then let SortDedup restore the series.
		mixed := append([]Point(nil), ps...)
		for i := 0; i < 200; i++ {
			d := ps[r.IntN(len(ps))]
			d.Seq += 1_000_000 // a replay under a later seq
			mixed = append(mixed, d)
		}
		r.Shuffle(len(mixed), func(i, j int) { mixed[i], mixed[j] = mixed[j], mixed[i] })
		series := SortDedup(mixed)
		if len(series) != len(ps) {
			t.Fatalf("seed %d: dedup kept %d of %d", seed, len(series), len(ps))
		}
		end := time.UnixMilli(ps[len(ps)-1].T).Add(48 * time.Hour)
		ref := reference(series, c)
		for _, iv := range []store.Interval{store.Day, store.Hour, store.Min15} {
			g, err := NewGrid(start, end, iv, shanghai)
			if err != nil {
				t.Fatal(err)
			}
			for _, items := range [][]Summary{singles(series), summarizeHours(series, c)} {
				if iv == store.Min15 && len(items) != len(series) {
					continue // hourly summaries do not fit 15-min buckets
				}
				accs := make([]Acc, g.Len())
				Accumulate(accs, g, items, meter.Total, c)
				got, err := Finalize(accs, g, meter.Total, store.Delta)
				if err != nil {
					t.Fatal(err)
				}
				var total, want float64
				for k, b := range got {
					want := ref(g.Bounds[k], g.Bounds[k+1])
					if math.Abs(b.Value-want) > 1e-6 {
						t.Fatalf("seed %d %s bucket %d: %v, reference %v", seed, iv, k, b.Value, want)
					}
					total += b.Value
				}
				for i := 1; i < len(series); i++ {
					want += c.Increment(series[i-1].V, series[i].V)
				}
				if math.Abs(total-want) > 1e-6 {
					t.Fatalf("seed %d %s: Σ buckets %v, adjusted last-first %v", seed, iv, total, want)
				}
			}
		}
	}
}

// TestPartialRangeNeedsNeighbours: a day in the middle gets the same value
// whether or not the whole history is passed, as long as the neighbours
// either side are.
func TestPartialRangeNeedsNeighbours(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	c := Counter{}
	ps := randomTotaliser(r, at(1, 0, 0), 3000, 1e9)
	day := time.UnixMilli(at(2, 0, 0))
	g, _ := NewGrid(day, day.AddDate(0, 0, 1), store.Day, shanghai)
	whole := make([]Acc, 1)
	Accumulate(whole, g, singles(ps), meter.Total, c)
	// Only the points inside the day plus one either side.
	var part []Point
	for i, p := range ps {
		inside := p.T >= g.Start() && p.T < g.End()
		nextInside := i+1 < len(ps) && ps[i+1].T >= g.Start() && ps[i+1].T < g.End()
		prevInside := i > 0 && ps[i-1].T >= g.Start() && ps[i-1].T < g.End()
		if inside || nextInside || prevInside {
			part = append(part, p)
		}
	}
	some := make([]Acc, 1)
	Accumulate(some, g, singles(part), meter.Total, c)
	if math.Abs(whole[0].Delta()-some[0].Delta()) > 1e-9 {
		t.Fatalf("whole history %v, neighbours only %v", whole[0].Delta(), some[0].Delta())
	}
}

func TestMeterReplacementSumsPerMeter(t *testing.T) {
	c := Counter{}
	old := []Point{{T: at(1, 0, 0), V: 5000}, {T: at(1, 12, 0), V: 5060}}
	repl := []Point{{T: at(1, 14, 0), V: 0.5}, {T: at(2, 0, 0), V: 40.5}}
	g, _ := NewGrid(time.UnixMilli(at(1, 0, 0)), time.UnixMilli(at(2, 0, 0)), store.Day, shanghai)
	total := make([]Acc, 1)
	for _, m := range [][]Point{old, repl} {
		accs := make([]Acc, 1)
		Accumulate(accs, g, singles(m), meter.Total, c)
		total[0].Merge(&accs[0])
	}
	if d := total[0].Delta(); math.Abs(d-100) > 1e-9 {
		t.Fatalf("point consumption %v, want 60 + 40", d)
	}
}

func TestRawBuckets(t *testing.T) {
	c := Counter{Modulus: 100000}
	pts := []RawPoint{
		{Meter: 1, T: 100, V: 99999},
		{Meter: 1, T: 200, V: 1},
		{Meter: 2, T: 150, V: 10},
		{Meter: 2, T: 250, V: 12},
	}
	got, err := RawBuckets(pts, 120, 300, meter.Total, c, store.Delta, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Bucket{
		{Start: time.UnixMilli(150), N: 1, Valid: false},
		{Start: time.UnixMilli(200), N: 1, Value: 2, Valid: true},
		{Start: time.UnixMilli(250), N: 1, Value: 2, Valid: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if !got[i].Start.Equal(want[i].Start) || got[i].Valid != want[i].Valid || math.Abs(got[i].Value-want[i].Value) > 1e-9 {
			t.Errorf("bucket %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func BenchmarkAccumulateDay15m(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	ps := randomTotaliser(r, at(1, 0, 0), 1440, 1e9)
	g, _ := NewGrid(time.UnixMilli(at(1, 0, 0)), time.UnixMilli(at(2, 0, 0)), store.Min15, shanghai)
	items := singles(ps)
	accs := make([]Acc, g.Len())
	b.ReportAllocs()
	for b.Loop() {
		clear(accs)
		Accumulate(accs, g, items, meter.Total, Counter{})
	}
}
