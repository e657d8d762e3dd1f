package consumption

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// Interval is a bucket width on the calendar; the values are the store's
// query intervals (store.Interval).
type Interval string

// Bucket intervals. Day and month buckets follow the calendar of the grid's
// time zone.
const (
	Min15 Interval = "15m"
	Hour  Interval = "1h"
	Day   Interval = "1d"
	Month Interval = "1mo"
)

// MaxBuckets bounds the number of buckets of one grid.
const MaxBuckets = 200000

// ErrGrid is wrapped by every error of NewGrid.
var ErrGrid = errors.New("invalid grid")

// Grid is the bucket boundaries of a query in Unix milliseconds: bucket i is
// [Bounds[i], Bounds[i+1]). The first bucket starts at the query's From and
// the last ends at its To; the boundaries in between fall on the interval's
// calendar (15-minute and hourly marks, local midnights, first days of
// months) in the query's time zone.
type Grid struct {
	Bounds []int64
	// Loc is the zone bucket start times are reported in.
	Loc *time.Location
}

// NewGrid builds the grid of [from, to) for a bucketed interval. loc nil
// means UTC.
func NewGrid(from, to time.Time, iv Interval, loc *time.Location) (Grid, error) {
	if loc == nil {
		loc = time.UTC
	}
	if !to.After(from) {
		return Grid{}, fmt.Errorf("%w: empty range %s … %s", ErrGrid, from, to)
	}
	next, err := stepper(iv, loc)
	if err != nil {
		return Grid{}, err
	}
	a, b := from.UnixMilli(), to.UnixMilli()
	bounds := []int64{a}
	for t := next(from); t.UnixMilli() < b; t = next(t) {
		if len(bounds) > MaxBuckets {
			return Grid{}, fmt.Errorf("%w: more than %d %s buckets", ErrGrid, MaxBuckets, iv)
		}
		bounds = append(bounds, t.UnixMilli())
	}
	return Grid{Bounds: append(bounds, b), Loc: loc}, nil
}

// stepper returns the function giving the first boundary strictly after t.
func stepper(iv Interval, loc *time.Location) (func(time.Time) time.Time, error) {
	fixed := func(d time.Duration) func(time.Time) time.Time {
		return func(t time.Time) time.Time {
			// Align to the local wall clock: zones are offset from UTC by
			// whole quarter hours, but align in local time anyway.
			_, off := t.In(loc).Zone()
			shift := time.Duration(off) * time.Second
			return t.Add(shift).Truncate(d).Add(d - shift)
		}
	}
	switch iv {
	case Min15:
		return fixed(15 * time.Minute), nil
	case Hour:
		return fixed(time.Hour), nil
	case Day:
		return func(t time.Time) time.Time {
			l := t.In(loc)
			return time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc)
		}, nil
	case Month:
		return func(t time.Time) time.Time {
			l := t.In(loc)
			return time.Date(l.Year(), l.Month()+1, 1, 0, 0, 0, 0, loc)
		}, nil
	}
	return nil, fmt.Errorf("%w: interval %q", ErrGrid, iv)
}

// Len returns the number of buckets.
func (g Grid) Len() int { return len(g.Bounds) - 1 }

// Start and End return the limits of the whole grid.
func (g Grid) Start() int64 { return g.Bounds[0] }

// End returns the exclusive end of the last bucket.
func (g Grid) End() int64 { return g.Bounds[len(g.Bounds)-1] }

// Find returns the bucket holding t, or -1 outside the grid.
func (g Grid) Find(t int64) int {
	if t < g.Start() || t >= g.End() {
		return -1
	}
	return sort.Search(len(g.Bounds), func(i int) bool { return g.Bounds[i] > t }) - 1
}

// Holds reports whether [a, b] lies inside one bucket.
func (g Grid) Holds(a, b int64) bool {
	k := g.Find(a)
	return k >= 0 && b < g.Bounds[k+1] && b >= a
}

// Time converts a grid time to a time.Time in the grid's zone.
func (g Grid) Time(ms int64) time.Time {
	if g.Loc == nil {
		return time.UnixMilli(ms).UTC()
	}
	return time.UnixMilli(ms).In(g.Loc)
}
