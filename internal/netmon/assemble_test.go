package netmon

import (
	"math"
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	midnight := time.Date(2025, 6, 1, 0, 0, 0, 0, cst)
	for _, tc := range []struct {
		name  string
		clock Clock
		at    time.Time
		// want is the network time of day (s) at 'at'.
		want int64
	}{
		{"real time: local midnight is network midnight", Clock{Speed: 1}, midnight, 0},
		{"real time: 08:30 local", Clock{Speed: 1}, midnight.Add(8*time.Hour + 30*time.Minute), 8*3600 + 1800},
		{"zero speed means real time", Clock{}, midnight.Add(time.Hour), 3600},
		{"60 times faster: one real minute is a network hour", Clock{Speed: 60, Epoch: midnight}, midnight.Add(time.Minute), 3600},
		{"faster clock before its epoch", Clock{Speed: 60, Epoch: midnight}, midnight.Add(-time.Minute), 86400 - 3600},
	} {
		got := tc.clock.Seconds(tc.at)
		if tod := ((got % 86400) + 86400) % 86400; tod != tc.want {
			t.Errorf("%s: time of day %d s, want %d", tc.name, tod, tc.want)
		}
		back := tc.clock.Instant(got)
		if d := back.Sub(tc.at).Abs(); d > time.Second {
			t.Errorf("%s: Instant(Seconds(t)) is %v off", tc.name, d)
		}
	}
	c := Clock{Speed: 720, Epoch: midnight}
	if got := c.Real(5 * time.Minute); got != 5*time.Minute/720 {
		t.Errorf("Real(5 min) at ×720 = %v", got)
	}
}

// feed adds readings of every sensor at network times ts (seconds),
// values from val(k, ts).
func feed(a *Assembler, c Clock, n int, ts []int64, val func(k int, ts int64) float64) {
	for _, s := range ts {
		for k := range n {
			a.Add(k, c.Instant(s), val(k, s))
		}
	}
}

func TestAssembler(t *testing.T) {
	c := Clock{Speed: 1}
	base := Clock{Speed: 1}.Seconds(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	step := int64(300)
	at := func(k int64) int64 { return base + k*step }
	val := func(k int, s int64) float64 { return float64(k*1000) + float64(s-base) }
	t.Run("readings on the grid become rows, one step behind", func(t *testing.T) {
		a := NewAssembler(3, c, step, 2, 10*time.Minute)
		feed(a, c, 3, []int64{at(0), at(1), at(2)}, val)
		rows := a.Ready(c.Instant(at(2)))
		if len(rows) != 2 || rows[0].T != at(0) || rows[1].T != at(1) {
			t.Fatalf("rows %+v", rows)
		}
		if rows[1].Values[2] != 2000+300 {
			t.Fatalf("values %v", rows[1].Values)
		}
		if st := a.Stats(); st.Rows != 2 || st.Skipped != 0 || st.Held != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("a reading off the grid serves the nearest step", func(t *testing.T) {
		a := NewAssembler(1, c, step, 0, time.Minute)
		a.Add(0, c.Instant(at(0)+100), 7)
		a.Add(0, c.Instant(at(1)-20), 8)
		a.Add(0, c.Instant(at(2)+30), 9)
		rows := a.Ready(c.Instant(at(2) + 200))
		if len(rows) != 2 || rows[0].Values[0] != 7 || rows[1].Values[0] != 8 {
			t.Fatalf("rows %+v", rows)
		}
	})
	t.Run("a silent sensor is held for the hold time, then the step is skipped", func(t *testing.T) {
		a := NewAssembler(2, c, step, 2, time.Minute)
		for k := int64(0); k < 8; k++ {
			a.Add(0, c.Instant(at(k)), float64(k))
			if k < 2 {
				a.Add(1, c.Instant(at(k)), 100+float64(k))
			}
		}
		rows := a.Ready(c.Instant(at(8)))
		// Steps 0-1 measured, 2-3 held (sensor 1 last read at step 1),
		// 4-7 skipped (step 7 only once the wait has passed).
		if len(rows) != 4 {
			t.Fatalf("%d rows: %+v", len(rows), rows)
		}
		if rows[3].Values[1] != 101 {
			t.Fatalf("held value %v, want 101", rows[3].Values[1])
		}
		st := a.Stats()
		if st.Held != 2 || st.Skipped < 3 || st.Missing[1] != st.Skipped || st.Missing[0] != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("a late reading still serves an open step; a very late one is counted", func(t *testing.T) {
		a := NewAssembler(2, c, step, 1, 10*time.Minute)
		a.Add(0, c.Instant(at(0)), 1)
		a.Add(0, c.Instant(at(1)), 2)
		// Sensor 1 has not reported step 0 yet: nothing is ready.
		if rows := a.Ready(c.Instant(at(1) + 10)); len(rows) != 0 {
			t.Fatalf("rows before the late reading: %+v", rows)
		}
		a.Add(1, c.Instant(at(1)), 20)
		a.Add(1, c.Instant(at(0)), 10) // out of order
		rows := a.Ready(c.Instant(at(1) + 10))
		if len(rows) != 1 || rows[0].Values[1] != 10 {
			t.Fatalf("rows %+v", rows)
		}
		a.Add(0, c.Instant(at(2)), 3)
		a.Add(1, c.Instant(at(2)), 30)
		a.Add(0, c.Instant(at(3)), 4)
		a.Add(1, c.Instant(at(3)), 40)
		a.Ready(c.Instant(at(3)))
		a.Add(0, c.Instant(at(0)), 99) // long after its step was assembled
		if st := a.Stats(); st.Late != 1 {
			t.Fatalf("late %d, want 1", st.Late)
		}
	})
	t.Run("the wait for late readings ends", func(t *testing.T) {
		a := NewAssembler(2, c, step, 0, 10*time.Minute)
		a.Add(0, c.Instant(at(0)), 1)
		a.Add(1, c.Instant(at(0)), 2)
		if rows := a.Ready(c.Instant(at(0) + 600)); len(rows) != 0 {
			t.Fatalf("assembled before the wait ended: %+v", rows)
		}
		if rows := a.Ready(c.Instant(at(0) + 150 + 601)); len(rows) != 1 {
			t.Fatalf("not assembled after the wait: %+v", rows)
		}
	})
	t.Run("a long outage is jumped, not walked", func(t *testing.T) {
		a := NewAssembler(1, c, step, 0, time.Minute)
		a.Add(0, c.Instant(at(0)), 1)
		a.Add(0, c.Instant(at(10000)), 2)
		a.Add(0, c.Instant(at(10001)), 3)
		rows := a.Ready(c.Instant(at(10001)))
		if len(rows) != 2 || rows[1].T != at(10000) {
			t.Fatalf("rows %+v", rows)
		}
		if st := a.Stats(); st.Skipped > 2 {
			t.Fatalf("walked the gap: %d skipped", st.Skipped)
		}
	})
	t.Run("a logger's uploaded history fills its steps", func(t *testing.T) {
		// Readings of steps 0-39 arrive long after their time, one step
		// after another (a logger uploading what it logged) while the
		// assembler's present is step 100: each step waits for them.
		a := NewAssembler(2, c, step, 2, 10*time.Minute)
		now := c.Instant(at(100))
		a.Ready(now) // the monitor advances its assemblers all the time
		var rows []Row
		for k := int64(0); k < 40; k++ {
			a.Add(0, c.Instant(at(k)), float64(k))
			rows = append(rows, a.Ready(now)...)
			a.Add(1, c.Instant(at(k)), 100+float64(k))
			rows = append(rows, a.Ready(now)...)
		}
		if st := a.Stats(); len(rows) != 39 || st.Skipped != 0 || st.Late != 0 || st.Held != 0 {
			t.Fatalf("%d rows, stats %+v", len(rows), st)
		}
		if rows[38].T != at(38) || rows[38].Values[1] != 138 {
			t.Fatalf("last row %+v", rows[38])
		}
		// Once the upload stops, the last step waits for late readings
		// from the last arrival on.
		if r := a.Ready(now.Add(9 * time.Minute)); len(r) != 0 {
			t.Fatalf("assembled before the wait ended: %+v", r)
		}
		// Sensor 0 uploads four more steps, sensor 1 nothing: they wait
		// for sensor 1 from their arrival, then its silence is held for
		// two steps and the steps after are skipped.
		for k := int64(40); k < 44; k++ {
			a.Add(0, c.Instant(at(k)), float64(k))
		}
		if r := a.Ready(now.Add(21 * time.Minute)); len(r) != 0 {
			t.Fatalf("assembled before the wait ended: %+v", r)
		}
		r := a.Ready(now.Add(32 * time.Minute))
		if st := a.Stats(); len(r) != 3 || r[0].T != at(39) || r[2].T != at(41) || st.Held != 2 || st.Skipped == 0 {
			t.Fatalf("rows %+v, stats %+v", r, st)
		}
	})
	t.Run("bad values are ignored", func(t *testing.T) {
		a := NewAssembler(1, c, step, 0, time.Minute)
		a.Add(0, c.Instant(at(0)), math.NaN())
		a.Add(0, c.Instant(at(0)), math.Inf(1))
		a.Add(5, c.Instant(at(0)), 1)
		if rows := a.Ready(c.Instant(at(5))); len(rows) != 0 {
			t.Fatalf("rows from bad values: %+v", rows)
		}
	})
	t.Run("a fast clock maps real readings to network steps", func(t *testing.T) {
		fast := Clock{Speed: 60, Epoch: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}
		a := NewAssembler(1, fast, step, 0, time.Second)
		for k := range 4 {
			// One reading every 5 s of real time is one every 300 s of
			// network time.
			a.Add(0, fast.Epoch.Add(time.Duration(k)*5*time.Second), float64(k))
		}
		rows := a.Ready(fast.Epoch.Add(15 * time.Second))
		if len(rows) != 3 || rows[2].Values[0] != 2 || rows[1].T-rows[0].T != step {
			t.Fatalf("rows %+v", rows)
		}
	})
}

func BenchmarkAssembler(b *testing.B) {
	c := Clock{Speed: 1}
	base := c.Seconds(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	a := NewAssembler(16, c, 300, 2, 10*time.Minute)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s := base + int64(i)*300
		for k := range 16 {
			a.Add(k, c.Instant(s), float64(k))
		}
		a.Ready(c.Instant(s))
	}
}
