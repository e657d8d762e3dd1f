package consumption

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/meter"
)

func TestRolloverModulus(t *testing.T) {
	for _, tc := range []struct{ in, want float64 }{
		{0, 0},
		{-1, 0},
		{99999.99, 100000},
		{9999999, 10000000},
		{999.999, 1000},
		{100000, 100000},
		{65535, 65535},
		{99999.98, 99999.98},
		{math.Inf(1), 0},
	} {
		if got := RolloverModulus(tc.in); got != tc.want {
			t.Errorf("RolloverModulus(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestIncrement(t *testing.T) {
	wrap := Counter{Modulus: 100000}
	for _, tc := range []struct {
		name      string
		c         Counter
		prev, cur float64
		want      float64
	}{
		{"growth", Counter{}, 10, 12.5, 2.5},
		{"steady", Counter{}, 10, 10, 0},
		{"rollover", wrap, 99999.99, 0.01, 0.02},
		{"rollover to zero", wrap, 99995, 0, 5},
		{"reset without rollover", Counter{}, 5000, 3, 3},
		{"reset on a rolling register far from the top", wrap, 50000, 10, 10},
		{"small drop is reverse flow", Counter{}, 1000, 999.5, -0.5},
		{"small drop on a rolling register", wrap, 50000, 49999, -1},
		{"drop to half is still a drop", Counter{}, 1000, 500, -500},
		{"drop below half is a reset", Counter{}, 1000, 499, 499},
	} {
		got := tc.c.Increment(tc.prev, tc.cur)
		if math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: Increment(%v, %v) = %v, want %v", tc.name, tc.prev, tc.cur, got, tc.want)
		}
	}
}

func TestSortDedup(t *testing.T) {
	ps := []Point{{T: 3, V: 30, Seq: 5}, {T: 1, V: 10, Seq: 9}, {T: 3, V: 31, Seq: 2}, {T: 2, V: 20, Seq: 1}, {T: 1, V: 11, Seq: 10}}
	got := SortDedup(ps)
	want := []Point{{T: 1, V: 10, Seq: 9}, {T: 2, V: 20, Seq: 1}, {T: 3, V: 31, Seq: 2}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestAccConsumptionByKind(t *testing.T) {
	g, err := NewGrid(time.UnixMilli(0), time.UnixMilli(3*3600_000), Hour, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	accs := make([]Acc, g.Len())
	// A running total read at 0:30 and 2:30: hour 0 gets a quarter, hour 1
	// half, hour 2 a quarter of the 8 m³.
	Accumulate(accs, g, []Summary{Single(Point{T: 1800_000, V: 100}), Single(Point{T: 9000_000, V: 108})}, meter.Total, Counter{})
	for i, want := range []float64{2, 4, 2} {
		if v, ok := accs[i].Consumption(meter.Total); !ok || v != want {
			t.Errorf("hour %d: %v %v, want %v", i, v, ok, want)
		}
	}
	// Interval totals stamped at 1:00 and 3:00 belong to hours 0 and 2.
	accs = make([]Acc, g.Len())
	Accumulate(accs, g, []Summary{Single(Point{T: EffectiveTime(meter.Interval, 3600_000), V: 5}),
		Single(Point{T: EffectiveTime(meter.Interval, 3*3600_000), V: 7})}, meter.Interval, Counter{})
	for i, want := range []struct {
		v  float64
		ok bool
	}{{5, true}, {0, false}, {7, true}} {
		if v, ok := accs[i].Consumption(meter.Interval); ok != want.ok || v != want.v {
			t.Errorf("interval hour %d: %v %v, want %+v", i, v, ok, want)
		}
	}
	if _, err := NewGrid(time.UnixMilli(0), time.UnixMilli(0), Hour, nil); !errors.Is(err, ErrGrid) {
		t.Errorf("empty grid: %v", err)
	}
}
