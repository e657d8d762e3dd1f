package aggregate

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"slices"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

// Consumption pre-totals: the part every driver shares. A driver computes a
// series' hour buckets with its own Consumption over whole local days,
// turns them into day totals (DayTotals), folds complete months
// (MonthTotal), and keeps each with its dependency span (Dependency): the
// times of the last reading before and the first after it, between which a
// new reading changes some of its hours.

// HourTotal is one hour bucket as a Total.
func HourTotal(b store.Bucket, end time.Time) store.Total {
	t := store.Total{Start: b.Start, End: end, Intervals: 1}
	if b.Valid {
		t.Valid = 1
		t.Sum.Add(b.Value)
		t.FirstValid, t.LastValid = b.Start, b.Start
		t.FirstValue, t.LastValue = b.Value, b.Value
	}
	return t
}

// Merge returns the total of a followed by b (a.End == b.Start).
func Merge(a, b store.Total) store.Total {
	out := store.Total{Start: a.Start, End: b.End, Intervals: a.Intervals + b.Intervals, Valid: a.Valid + b.Valid, Sum: a.Sum.Clone()}
	out.Sum.AddSum(b.Sum)
	out.FirstValid, out.FirstValue, out.LastValid, out.LastValue = a.FirstValid, a.FirstValue, a.LastValid, a.LastValue
	if a.Valid == 0 {
		out.FirstValid, out.FirstValue = b.FirstValid, b.FirstValue
	}
	if b.Valid > 0 {
		out.LastValid, out.LastValue = b.LastValid, b.LastValue
	}
	return out
}

// DayTotals folds hour buckets (in time order, from a Consumption query on
// the hour grid of loc) into one total per whole local day of loc: days the
// buckets cover only in part are left out.
func DayTotals(bs []store.Bucket, loc *time.Location) []store.Total {
	var out []store.Total
	for i := 0; i < len(bs); {
		start := bs[i].Start.In(loc)
		y, m, d := start.Date()
		day, next := time.Date(y, m, d, 0, 0, 0, 0, loc), time.Date(y, m, d+1, 0, 0, 0, 0, loc)
		j := i
		for j < len(bs) && bs[j].Start.Before(next) {
			j++
		}
		if start.Equal(day) && j-i == hoursBetween(day, next) {
			t := HourTotal(bs[i], bs[i].Start.Add(time.Hour))
			for k := i + 1; k < j; k++ {
				t = Merge(t, HourTotal(bs[k], bs[k].Start.Add(time.Hour)))
			}
			t.Start, t.End = day, next
			out = append(out, t)
		}
		i = j
	}
	return out
}

func hoursBetween(a, b time.Time) int { return int(b.Sub(a) / time.Hour) }

// MonthTotal folds the day totals of one whole local month, in order, into
// the month's; false unless they are exactly its days.
func MonthTotal(days []store.Total, loc *time.Location) (store.Total, bool) {
	if len(days) == 0 {
		return store.Total{}, false
	}
	y, m, _ := days[0].Start.In(loc).Date()
	first, next := time.Date(y, m, 1, 0, 0, 0, 0, loc), time.Date(y, m+1, 1, 0, 0, 0, 0, loc)
	if !days[0].Start.Equal(first) || !days[len(days)-1].End.Equal(next) {
		return store.Total{}, false
	}
	t := days[0]
	t.Sum = t.Sum.Clone()
	for _, d := range days[1:] {
		if !d.Start.Equal(t.End) {
			return store.Total{}, false
		}
		t = Merge(t, d)
	}
	return t, true
}

// Span is a meter's compacted values of one channel between FirstT and
// LastT (effective times, Unix ms): an hour summary or a reading.
type Span struct{ FirstT, LastT int64 }

// Unbounded ends of a dependency span.
const (
	NoBefore = math.MinInt64
	NoAfter  = math.MaxInt64
)

// Dependency returns the span of reading times that can change the hours
// of [start, end) of a series: from the latest value before start to the
// earliest at or after end, over the series' meters (spans per meter, in
// time order). A reading of one of the meters inside it (ends included)
// changes the consumption apportioned to the range; one outside cannot.
// With no value before (after) the range, that end is NoBefore (NoAfter).
func Dependency(meters [][]Span, start, end int64) (lo, hi int64) {
	lo, hi = NoAfter, NoBefore
	for _, spans := range meters {
		prev, next := int64(NoBefore), int64(NoAfter)
		// The last span ending before start, the first starting at or
		// after end.
		k := slices.IndexFunc(spans, func(s Span) bool { return s.LastT >= start })
		if k < 0 {
			k = len(spans)
		}
		if k > 0 {
			prev = spans[k-1].LastT
		}
		if k2 := slices.IndexFunc(spans, func(s Span) bool { return s.FirstT >= end }); k2 >= 0 {
			next = spans[k2].FirstT
		}
		lo, hi = min(lo, prev), max(hi, next)
	}
	if len(meters) == 0 {
		return NoBefore, NoAfter
	}
	return lo, hi
}

// Stamp identifies what a series' totals were computed under: its meters
// in order, its channel and the channel's kind and rollover modulus. A
// total whose stamp differs from the series' current one is not used.
func Stamp(mids []int64, cid int64, kind meter.Kind, modulus float64) int64 {
	h := fnv.New64a()
	var b []byte
	for _, m := range mids {
		b = binary.LittleEndian.AppendUint64(b, uint64(m))
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(cid))
	b = append(b, kind...)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(modulus))
	h.Write(b)
	return int64(h.Sum64() >> 1)
}

// Cover picks, from totals of one series sorted by start, a time-ordered
// set that does not overlap, taking the longest of those starting at the
// same time (a month before its first day). It sorts and filters ts in
// place: the set is a prefix of ts's array.
func Cover(ts []store.Total) []store.Total {
	if len(ts) == 0 {
		return nil
	}
	slices.SortFunc(ts, func(a, b store.Total) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return b.End.Compare(a.End)
	})
	out := ts[:0] // behind the loop's index
	var cursor time.Time
	for _, t := range ts {
		if len(out) == 0 || !t.Start.Before(cursor) {
			out = append(out, t)
			cursor = t.End
		}
	}
	return out
}

// OnHourGrid reports whether a total's hours are hours of the hour grid of
// loc: the zone is a whole number of hours from UTC at both its ends (as
// Asia/Shanghai always is). A total stands for hours, not for a zone's
// day, so a query in any such zone can use it.
func OnHourGrid(t store.Total, loc *time.Location) bool {
	_, a := t.Start.In(loc).Zone()
	_, b := t.End.In(loc).Zone()
	return a%3600 == 0 && b%3600 == 0
}

// Months returns the whole months of loc inside [from, to), as Unix ms
// bounds.
func Months(from, to time.Time, loc *time.Location) [][2]int64 {
	y, m, _ := from.In(loc).Date()
	first := time.Date(y, m, 1, 0, 0, 0, 0, loc)
	if first.Before(from) {
		first = first.AddDate(0, 1, 0)
	}
	var out [][2]int64
	for next := first.AddDate(0, 1, 0); !next.After(to); first, next = next, next.AddDate(0, 1, 0) {
		out = append(out, [2]int64{first.UnixMilli(), next.UnixMilli()})
	}
	return out
}

// SpanTotal is a total with its dependency span, as a driver keeps it.
type SpanTotal struct {
	store.Total
	Lo, Hi int64
}

// ClosedDays computes a series' day totals over the local days of loc in
// [a, b) that have none (have says which do): each run of such days is
// read with hours (a Consumption query of the series on the hour grid of
// loc), folded by DayTotals and given its dependency span over the
// meters' spans. Days without a value after them (Hi NoAfter) are left
// out: a later reading would change them.
func ClosedDays(a, b time.Time, loc *time.Location, have func(start int64) bool, spans [][]Span,
	hours func(from, to time.Time) ([]store.Bucket, error)) ([]SpanTotal, error) {
	var runs [][2]time.Time
	for day := a; day.Before(b); day = day.AddDate(0, 0, 1) {
		if have(day.UnixMilli()) {
			continue
		}
		if _, hi := Dependency(spans, day.UnixMilli(), day.AddDate(0, 0, 1).UnixMilli()); hi == NoAfter {
			continue // open: not worth reading
		}
		if n := len(runs); n > 0 && runs[n-1][1].Equal(day) {
			runs[n-1][1] = day.AddDate(0, 0, 1)
		} else {
			runs = append(runs, [2]time.Time{day, day.AddDate(0, 0, 1)})
		}
	}
	var out []SpanTotal
	for _, r := range runs {
		bs, err := hours(r[0], r[1])
		if err != nil {
			return nil, err
		}
		for _, d := range DayTotals(bs, loc) {
			lo, hi := Dependency(spans, d.Start.UnixMilli(), d.End.UnixMilli())
			if hi != NoAfter {
				out = append(out, SpanTotal{Total: d, Lo: lo, Hi: hi})
			}
		}
	}
	return out, nil
}

// MonthOf folds the day totals of one whole local month (in order) into
// the month's, spanning from its first day's span to its last's; false
// unless they are exactly its days.
func MonthOf(days []SpanTotal, loc *time.Location) (SpanTotal, bool) {
	ts := make([]store.Total, len(days))
	for i := range days {
		ts[i] = days[i].Total
	}
	m, ok := MonthTotal(ts, loc)
	if !ok {
		return SpanTotal{}, false
	}
	return SpanTotal{Total: m, Lo: days[0].Lo, Hi: days[len(days)-1].Hi}, true
}
