package consumption

import (
	"cmp"
	"slices"
)

// Point is one value of a channel: effective time in Unix milliseconds (see
// EffectiveTime), value, and the reading's seq for tie-breaking.
type Point struct {
	T   int64
	V   float64
	Seq uint64
}

// SortDedup sorts points by (T, Seq) and keeps, of points with equal T, the
// one with the lowest Seq. It reuses ps.
func SortDedup(ps []Point) []Point {
	if !slices.IsSortedFunc(ps, cmpPoint) {
		slices.SortFunc(ps, cmpPoint)
	}
	return slices.CompactFunc(ps, func(a, b Point) bool { return a.T == b.T })
}

func cmpPoint(a, b Point) int {
	if c := cmp.Compare(a.T, b.T); c != 0 {
		return c
	}
	return cmp.Compare(a.Seq, b.Seq)
}

// Summary condenses consecutive points of one channel of one meter: enough
// to aggregate them with any function and to difference them against the
// points before and after.
type Summary struct {
	N             int
	Sum, Min, Max float64
	FirstT        int64
	First         float64
	LastT         int64
	Last          float64
	// Inc is the consumption between successive points inside the summary
	// (Counter.Increment summed); zero for a single point.
	Inc float64
}

// Single returns the summary of one point.
func Single(p Point) Summary {
	return Summary{N: 1, Sum: p.V, Min: p.V, Max: p.V, FirstT: p.T, First: p.V, LastT: p.T, Last: p.V}
}

// Summarize condenses points sorted and deduplicated by SortDedup; it
// returns the zero Summary (N == 0) for none.
func Summarize(ps []Point, c Counter) Summary {
	if len(ps) == 0 {
		return Summary{}
	}
	s := Single(ps[0])
	var sum, inc ksum
	sum.add(ps[0].V)
	for i := 1; i < len(ps); i++ {
		p := ps[i]
		sum.add(p.V)
		inc.add(c.Increment(ps[i-1].V, p.V))
		s.Min = min(s.Min, p.V)
		s.Max = max(s.Max, p.V)
	}
	s.N = len(ps)
	s.Sum = sum.value()
	s.Inc = inc.value()
	s.LastT, s.Last = ps[len(ps)-1].T, ps[len(ps)-1].V
	return s
}

// Append returns the summary of a's points followed by b's; all of b must be
// later than a (a.LastT < b.FirstT). Either may be empty.
func (a Summary) Append(b Summary, c Counter) Summary {
	switch {
	case a.N == 0:
		return b
	case b.N == 0:
		return a
	}
	return Summary{
		N:      a.N + b.N,
		Sum:    a.Sum + b.Sum,
		Min:    min(a.Min, b.Min),
		Max:    max(a.Max, b.Max),
		FirstT: a.FirstT, First: a.First,
		LastT: b.LastT, Last: b.Last,
		Inc: a.Inc + b.Inc + c.Increment(a.Last, b.First),
	}
}
