package planuse

import (
	"context"
	"os"
	"reflect"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/production"
)

// benchEnterprises is the number of enterprises the benchmark builds
// (SHUIXIAO_BENCH_ENTERPRISES, default 5,000: the province).
func benchEnterprises(b *testing.B) int {
	if v := os.Getenv("SHUIXIAO_BENCH_ENTERPRISES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("SHUIXIAO_BENCH_ENTERPRISES=%q", v)
		}
		return n
	}
	return 5000
}

// BenchmarkBoard recomputes the plan and permit tracking of every
// enterprise from the store: two intake points each, hourly readings from
// 1 March to 11 March 12:00 (compacted), evaluated then.
//
//   - current-month: what a recomputation costs once the closed months and
//     the closed days of March are kept (Service): today's 12 hours read in
//     batched queries, every plan tracked (waterplan.Track), parks and
//     headroom;
//   - all-months: nothing kept, January and February read whole, March day
//     by day;
//   - track-only: the tracking and park views from months already read;
//   - cold-start: a new Service's first board on a store with hourly
//     readings from 1 January (its own world): the closed months and
//     March's closed days from the store's pre-totals, interleaved in each
//     iteration with the same board read hour by hour (the pre-totals
//     hidden): cpu-s/op is the former, hours-cpu-s/op the latter, and
//     hours/totals their ratio.
func BenchmarkBoard(b *testing.B) {
	n := benchEnterprises(b)
	mar := time.Date(2026, 3, 1, 0, 0, 0, 0, production.Zone)
	hours := 10*24 + 12
	now := mar.Add(time.Duration(hours) * time.Hour)
	var w *world
	march := func(b *testing.B) *world {
		if w == nil {
			start := time.Now()
			w = buildWorld(b, n, mar, hours)
			b.Logf("built %d enterprises × 3 points × %d hourly readings in %v", n, hours+1, time.Since(start).Round(time.Millisecond))
		}
		return w
	}
	ctx := context.Background()
	report := func(b *testing.B, bd *Board) {
		if len(bd.Rows) != n {
			b.Fatalf("%d rows, want %d", len(bd.Rows), n)
		}
		b.ReportMetric(float64(bd.Series), "series")
	}
	// On a shared machine the wall time depends on the load; the process's
	// CPU time per operation does not (two cores: wall ≥ cpu/2).
	cpu := func(b *testing.B, run func()) {
		c0 := cpuTime()
		for b.Loop() {
			run()
		}
		b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "cpu-s/op")
	}
	b.Run("current-month", func(b *testing.B) {
		w := march(b)
		memo := &pastMonths{}
		if _, err := compute(ctx, w.st, 2026, now, Options{}, memo); err != nil {
			b.Fatal(err)
		}
		cpu(b, func() {
			bd, err := compute(ctx, w.st, 2026, now, Options{}, memo)
			if err != nil {
				b.Fatal(err)
			}
			report(b, bd)
		})
	})
	b.Run("all-months", func(b *testing.B) {
		w := march(b)
		cpu(b, func() {
			bd, err := compute(ctx, w.st, 2026, now, Options{}, nil)
			if err != nil {
				b.Fatal(err)
			}
			report(b, bd)
		})
	})
	b.Run("track-only", func(b *testing.B) {
		w := march(b)
		memo := &pastMonths{}
		later := time.Date(2026, 4, 1, 0, 0, 0, 0, production.Zone) // March closed
		if _, err := compute(ctx, w.st, 2026, later, Options{}, memo); err != nil {
			b.Fatal(err)
		}
		cpu(b, func() {
			bd, err := compute(ctx, w.st, 2026, later, Options{}, memo)
			if err != nil {
				b.Fatal(err)
			}
			if bd.Series != 0 {
				b.Fatalf("read %d series", bd.Series)
			}
			report(b, bd)
		})
	})
	b.Run("cold-start", func(b *testing.B) {
		jan := time.Date(2026, 1, 1, 0, 0, 0, 0, production.Zone)
		yearHours := int(now.Sub(jan) / time.Hour)
		start := time.Now()
		wy := buildWorld(b, n, jan, yearHours)
		b.Logf("built %d enterprises × 3 points × %d hourly readings in %v", n, yearHours+1, time.Since(start).Round(time.Millisecond))
		var totals, hours time.Duration
		for b.Loop() {
			c0 := cpuTime()
			bt, err := compute(ctx, wy.st, 2026, now, Options{}, &pastMonths{})
			if err != nil {
				b.Fatal(err)
			}
			c1 := cpuTime()
			bh, err := compute(ctx, hoursOnly{wy.st}, 2026, now, Options{}, &pastMonths{})
			if err != nil {
				b.Fatal(err)
			}
			totals, hours = totals+c1-c0, hours+cpuTime()-c1
			report(b, bt)
			if !reflect.DeepEqual(bt.Statuses, bh.Statuses) {
				b.Fatal("the board from pre-totals differs from the board read hour by hour")
			}
		}
		b.ReportMetric(totals.Seconds()/float64(b.N), "cpu-s/op")
		b.ReportMetric(hours.Seconds()/float64(b.N), "hours-cpu-s/op")
		b.ReportMetric(hours.Seconds()/totals.Seconds(), "hours/totals")
	})
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
