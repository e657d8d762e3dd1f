package ingest

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// BenchmarkEdgeCheck is the readings/s one core checks with EdgeChecker
// (what a bus-mode edge node and the pipeline's verifier workers do for each
// reading: parse, key, signature, validity), from 64 meters. "voi" is the
// directory without key tables — curve25519-voi's verifier, as ingest
// checked signatures before package sigcheck; "table" is the default
// directory, whose keys get their table after sigcheck.HotAfter readings.
// Run with -cpu 1 for the per-core figure.
func BenchmarkEdgeCheck(b *testing.B) {
	const meters, per = 64, 256
	for _, bc := range []struct {
		name   string
		tables int
	}{{"voi", 0}, {"table", DefaultKeyTables}} {
		b.Run(bc.name, func(b *testing.B) {
			dir := NewDirectoryWithKeyTables(bc.tables)
			c := NewEdgeChecker(dir)
			var raws [][]byte
			var devs []string
			for i := range meters {
				id := fmt.Sprintf("M%03d", i)
				m := newTestMeter(b, dir, id)
				for s := range per {
					raws = append(raws, m.next(b, t0.Add(time.Duration(s)*time.Minute), float64(s)))
					devs = append(devs, id)
				}
			}
			// Every key checks HotAfter readings first, as a running edge
			// has done long before.
			for i := range raws {
				if _, rej := c.Check(raws[i], devs[i]); rej != nil {
					b.Fatal(rej)
				}
			}
			b.ResetTimer()
			cpu0 := cpuTime()
			i := 0
			for b.Loop() {
				if _, rej := c.Check(raws[i%len(raws)], devs[i%len(raws)]); rej != nil {
					b.Fatal(rej)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "readings/s")
			// On a shared machine wall time counts others' time slices too.
			b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "readings/cpu-s")
		})
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
