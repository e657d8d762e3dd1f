package aggregate

import (
	"fmt"
	"slices"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

// Acc accumulates one bucket. Accs of the same grid from different meters of
// a point combine with Merge.
type Acc struct {
	N        int
	sum      ksum
	Min, Max float64
	LastT    int64
	Last     float64
	delta    ksum
	HasDelta bool // some consumption (possibly zero) was attributed
}

// Sum returns the sum of the values.
func (a *Acc) Sum() float64 { return a.sum.value() }

// Delta returns the consumption attributed to the bucket.
func (a *Acc) Delta() float64 { return a.delta.value() }

func (a *Acc) addSummary(s Summary) {
	if s.N == 0 {
		return
	}
	if a.N == 0 {
		a.Min, a.Max = s.Min, s.Max
	} else {
		a.Min, a.Max = min(a.Min, s.Min), max(a.Max, s.Max)
	}
	if a.N == 0 || s.LastT >= a.LastT {
		a.LastT, a.Last = s.LastT, s.Last
	}
	a.N += s.N
	a.sum.add(s.Sum)
}

func (a *Acc) addDelta(x float64) {
	a.delta.add(x)
	a.HasDelta = true
}

// Merge adds b into a.
func (a *Acc) Merge(b *Acc) {
	if b.N > 0 {
		a.addSummary(Summary{N: b.N, Sum: b.Sum(), Min: b.Min, Max: b.Max, LastT: b.LastT, Last: b.Last})
	}
	if b.HasDelta {
		a.addDelta(b.Delta())
	}
}

// Accumulate adds one meter's items of one channel to the grid's
// accumulators (len(accs) == g.Len()). Items are single points (Single) or
// Summaries, in time order without overlap (each item's LastT before the next
// one's FirstT), with effective times (EffectiveTime). Each item that starts
// inside the grid must lie inside one bucket (Grid.Holds). Items outside the
// grid count only through the consumption between them and their
// neighbours: pass the last item before the grid and the first after it so
// that the grid's edge buckets get their share.
func Accumulate(accs []Acc, g Grid, items []Summary, kind meter.Kind, c Counter) {
	for i := range items {
		it := &items[i]
		if k := g.Find(it.FirstT); k >= 0 {
			accs[k].addSummary(*it)
			if kind == meter.Total && it.N > 1 {
				accs[k].addDelta(it.Inc)
			}
		}
		if kind == meter.Total && i > 0 {
			apportion(accs, g, items[i-1].LastT, it.FirstT, c.Increment(items[i-1].Last, it.First))
		}
	}
}

// apportion spreads inc, the consumption between times t1 and t2, over the
// buckets in proportion to the part of [t1, t2] each covers.
func apportion(accs []Acc, g Grid, t1, t2 int64, inc float64) {
	if t2 <= t1 {
		if k := g.Find(t2); k >= 0 {
			accs[k].addDelta(inc)
		}
		return
	}
	if t2 <= g.Start() || t1 >= g.End() {
		return
	}
	k := max(g.Find(t1), 0)
	span := float64(t2 - t1)
	for ; k < g.Len(); k++ {
		lo, hi := max(t1, g.Bounds[k]), min(t2, g.Bounds[k+1])
		if lo >= t2 {
			break
		}
		if hi > lo {
			accs[k].addDelta(inc * (float64(hi-lo) / span))
		}
	}
}

// Finalize turns accumulators into buckets for fn.
func Finalize(accs []Acc, g Grid, kind meter.Kind, fn store.Fn) ([]store.Bucket, error) {
	if err := CheckFn(kind, fn); err != nil {
		return nil, err
	}
	out := make([]store.Bucket, len(accs))
	for k := range accs {
		a := &accs[k]
		b := store.Bucket{Start: g.time(g.Bounds[k]), N: a.N, Valid: a.N > 0}
		switch fn {
		case store.Avg:
			if a.N > 0 {
				b.Value = a.Sum() / float64(a.N)
			}
		case store.Min:
			b.Value = a.Min
		case store.Max:
			b.Value = a.Max
		case store.Last:
			b.Value = a.Last
		case store.Sum:
			b.Value = a.Sum()
		case store.Delta:
			if kind == meter.Interval {
				b.Value = a.Sum()
			} else {
				b.Value, b.Valid = a.Delta(), a.HasDelta
			}
		}
		if !b.Valid {
			b.Value = 0
		}
		out[k] = b
	}
	return out, nil
}

// CheckFn rejects functions that are not defined on a kind: delta on rates.
func CheckFn(kind meter.Kind, fn store.Fn) error {
	if !fn.Valid() {
		return fmt.Errorf("aggregate: %w: function %q", store.ErrInvalid, fn)
	}
	if fn == store.Delta && kind != meter.Total && kind != meter.Interval {
		return fmt.Errorf("aggregate: %w: delta needs a running or interval total, not a %s", store.ErrInvalid, kind)
	}
	return nil
}

// RawPoint is one reading's value of a channel for Raw aggregates, at its
// device time (not shifted by EffectiveTime) and with its meter.
type RawPoint struct {
	Meter int
	T     int64
	V     float64
	Seq   uint64
}

// RawBuckets returns one bucket per point in [from, to) for Interval Raw:
// the value itself, or for delta on a running total the increment since the
// meter's previous point (which may lie before from; without one the bucket
// is not valid). pts are in time order per meter (SortDedup'ed per meter),
// meters may interleave; the result is in time order, reported in loc (nil:
// UTC).
func RawBuckets(pts []RawPoint, from, to int64, kind meter.Kind, c Counter, fn store.Fn, loc *time.Location) ([]store.Bucket, error) {
	if err := CheckFn(kind, fn); err != nil {
		return nil, err
	}
	prev := map[int]float64{}
	var out []store.Bucket
	for _, p := range pts {
		last, hasPrev := prev[p.Meter]
		prev[p.Meter] = p.V
		if p.T < from || p.T >= to {
			continue
		}
		if len(out) >= store.MaxRawBuckets {
			return nil, fmt.Errorf("aggregate: %w: more than %d raw buckets", store.ErrInvalid, store.MaxRawBuckets)
		}
		b := store.Bucket{Start: Grid{Loc: loc}.time(p.T), N: 1, Value: p.V, Valid: true}
		if fn == store.Delta && kind == meter.Total {
			b.Value, b.Valid = 0, hasPrev
			if hasPrev {
				b.Value = c.Increment(last, p.V)
			}
		}
		out = append(out, b)
	}
	sortBuckets(out)
	return out, nil
}

func sortBuckets(bs []store.Bucket) {
	// Stable, so that readings of different meters at one time keep order.
	slices.SortStableFunc(bs, func(a, b store.Bucket) int { return a.Start.Compare(b.Start) })
}
