package consumption

import (
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

// Consumption is the bucket's consumption for a channel of the given kind:
// the sum of the interval totals ending in it, or a running total's
// apportioned increments. ok is false when the bucket has no value: no
// interval total ended in it, or no pair of a running total's readings
// spans any of it.
func (a *Acc) Consumption(kind meter.Kind) (v float64, ok bool) {
	if kind == meter.Interval {
		return a.Sum(), a.N > 0
	}
	return a.Delta(), a.HasDelta
}
