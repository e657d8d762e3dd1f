package aggregate

import (
	"fmt"
	"slices"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

// Finalize turns accumulators into buckets for fn.
func Finalize(accs []Acc, g Grid, kind meter.Kind, fn store.Fn) ([]store.Bucket, error) {
	if err := CheckFn(kind, fn); err != nil {
		return nil, err
	}
	out := make([]store.Bucket, len(accs))
	for k := range accs {
		a := &accs[k]
		b := store.Bucket{Start: g.Time(g.Bounds[k]), N: a.N, Valid: a.N > 0}
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
			b.Value, b.Valid = a.Consumption(kind)
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
		b := store.Bucket{Start: Grid{Loc: loc}.Time(p.T), N: 1, Value: p.V, Valid: true}
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
