package mv

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/contract"
	"github.com/shuixiao/shuixiao/internal/periodvol"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
)

// runs reads the boundary points' consumption over the span as
// contract.RunIntakes takes it: the store's day and month pre-totals where
// they are current (periodvol.Totals) and every other hour bucket by bucket
// (periodvol.Fill), none crossing a bound of the model periods.
//
// A store answers a month's total wherever a query's range holds the whole
// month; a month split by the periods (daily ones) must come as its days.
// So the span is read in ranges cut inside each such month (ranges from
// the 2nd of a month to the 2nd of the next for a daily model: none holds
// a whole month), one query each; a monthly model reads the span in one.
// A pre-total that still crosses a period's bound (a store whose calendar
// is not the periods') is dropped and its hours are read instead.
func (s *Service) runs(ctx context.Context, boundary []meter.Point, span contract.Span, periods []contract.Span) (map[string][]contract.Run, error) {
	series := make([]store.Series, len(boundary))
	for i, p := range boundary {
		ch, _ := balance.VolumeChannel(p)
		series[i] = store.Series{Point: p.ID, Channel: ch}
	}
	bounds := periodBounds(periods)
	sts := make([]store.SeriesTotals, len(series))
	for i, ser := range series {
		sts[i].Series = ser
	}
	for _, r := range readRanges(span, bounds) {
		part, err := periodvol.Totals(ctx, s.Store, series, r.From, r.To, periodvol.Interval, production.Zone)
		if err != nil {
			return nil, err
		}
		for i := range part {
			for _, t := range part[i].Totals {
				if !crosses(t, bounds) {
					sts[i].Totals = append(sts[i].Totals, t)
				}
			}
		}
	}
	if err := periodvol.Fill(ctx, s.Store, sts, span.From, span.To, periodvol.Interval, production.Zone); err != nil {
		return nil, err
	}
	out := make(map[string][]contract.Run, len(sts))
	for _, st := range sts {
		rs := make([]contract.Run, len(st.Totals))
		for i, t := range st.Totals {
			rs[i] = contract.Run{From: t.Start, To: t.End, Total: balance.IntervalTotal{Intervals: t.Intervals, Valid: t.Valid, Sum: t.Sum}}
		}
		out[st.Series.Point] = rs
	}
	return out, nil
}

// periodBounds returns the periods' starts and ends, sorted, once each.
func periodBounds(periods []contract.Span) []time.Time {
	var b []time.Time
	for _, p := range periods {
		b = append(b, p.From, p.To)
	}
	slices.SortFunc(b, time.Time.Compare)
	return slices.CompactFunc(b, time.Time.Equal)
}

// crosses reports whether a period bound lies strictly inside t.
func crosses(t store.Total, bounds []time.Time) bool {
	b, ok := after(bounds, t.Start)
	return ok && b.Before(t.End)
}

// after returns the first bound after t.
func after(bounds []time.Time, t time.Time) (time.Time, bool) {
	i := sort.Search(len(bounds), func(i int) bool { return bounds[i].After(t) })
	if i == len(bounds) {
		return time.Time{}, false
	}
	return bounds[i], true
}

// readRanges cuts span at the first period bound strictly inside each
// whole local month of the span that has one, so that no range holds a
// month the periods split.
func readRanges(span contract.Span, bounds []time.Time) []contract.Span {
	l := span.From.In(production.Zone)
	m := time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, production.Zone)
	if m.Before(span.From) {
		m = m.AddDate(0, 1, 0)
	}
	var out []contract.Span
	from := span.From
	for end := m.AddDate(0, 1, 0); !end.After(span.To); m, end = end, end.AddDate(0, 1, 0) {
		if b, ok := after(bounds, m); ok && b.Before(end) && b.After(from) {
			out = append(out, contract.Span{From: from, To: b})
			from = b
		}
	}
	return append(out, contract.Span{From: from, To: span.To})
}
