package aggregate

import (
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
)

var cst = time.FixedZone("CST", 8*3600)

func hours(from time.Time, n int, valid func(k int) bool) []store.Bucket {
	out := make([]store.Bucket, n)
	for k := range out {
		out[k] = store.Bucket{Start: from.Add(time.Duration(k) * time.Hour), Value: float64(k) / 4, Valid: valid(k)}
	}
	return out
}

func TestDayAndMonthTotals(t *testing.T) {
	// From 05:00 on April 29 to 03:00 on May 2 (local): April 30 and May 1
	// are whole days, the partial ones are left out.
	from := time.Date(2026, 4, 29, 5, 0, 0, 0, cst)
	bs := hours(from, 19+48+3, func(k int) bool { return k%5 != 0 })
	days := DayTotals(bs, cst)
	if len(days) != 2 || !days[0].Start.Equal(time.Date(2026, 4, 30, 0, 0, 0, 0, cst)) || days[1].End != time.Date(2026, 5, 2, 0, 0, 0, 0, cst) {
		t.Fatalf("days %+v", days)
	}
	d := days[0]
	var want float64
	valid := 0
	for _, b := range bs[19:43] {
		if b.Valid {
			want += b.Value
			valid++
		}
	}
	if d.Intervals != 24 || d.Valid != valid || d.Sum.Value() != want || !d.FirstValid.Equal(bs[19].Start) || d.LastValue != bs[42].Value {
		t.Errorf("April 30: %d/%d Σ %v first %v last %v; want %d/24 Σ %v", d.Valid, d.Intervals, d.Sum.Value(), d.FirstValid, d.LastValue, valid, want)
	}
	if _, ok := MonthTotal(days, cst); ok {
		t.Error("two days across months made a month")
	}
	// A whole month of days.
	may := time.Date(2026, 5, 1, 0, 0, 0, 0, cst)
	month := DayTotals(hours(may, 31*24, func(k int) bool { return k > 30 }), cst)
	m, ok := MonthTotal(month, cst)
	if !ok || m.Intervals != 744 || m.Valid != 744-31 || !m.FirstValid.Equal(may.Add(31*time.Hour)) {
		t.Fatalf("May: %v %+v", ok, m)
	}
	if _, ok := MonthTotal(month[1:], cst); ok {
		t.Error("a month without its first day")
	}
	if got := Months(may.Add(time.Hour), may.AddDate(0, 3, 0), cst); len(got) != 2 || got[0][0] != may.AddDate(0, 1, 0).UnixMilli() {
		t.Errorf("months %v", got)
	}
	// Cover prefers the month to its first day and drops what overlaps.
	c := Cover(append([]store.Total{m}, month...))
	if len(c) != 1 || c[0].Intervals != 744 {
		t.Errorf("cover: %d totals", len(c))
	}
	if !OnHourGrid(m, cst) || OnHourGrid(m, time.FixedZone("IST", 5*3600+1800)) {
		t.Error("hour grid")
	}
}

func TestDependency(t *testing.T) {
	day := int64(86_400_000)
	spans := [][]Span{
		{{FirstT: 10, LastT: 20}, {FirstT: day - 100, LastT: day - 50}, {FirstT: 2*day + 5, LastT: 2*day + 9}},
		{{FirstT: day + 7, LastT: day + 8}},
	}
	// Day 1 [day, 2day): the first meter's last value before is day-50,
	// its first after 2day+5; the second meter has none before and one
	// inside, none after.
	if lo, hi := Dependency(spans, day, 2*day); lo != NoBefore || hi != NoAfter {
		t.Errorf("day 1: %d %d", lo, hi)
	}
	if lo, hi := Dependency(spans[:1], day, 2*day); lo != day-50 || hi != 2*day+5 {
		t.Errorf("day 1, first meter: %d %d", lo, hi)
	}
	if lo, hi := Dependency(spans[:1], 3*day, 4*day); lo != 2*day+9 || hi != NoAfter {
		t.Errorf("after the data: %d %d", lo, hi)
	}
}
