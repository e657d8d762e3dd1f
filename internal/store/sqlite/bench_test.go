package sqlite

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/chunk"
)

// Benchmarks print the figures the issue asks for; run them with
//
//	go test -run XXX -bench Ingest -benchtime 2000x ./store/sqlite   (2 M readings, 10 M values)
//	go test -run XXX -bench IngestPaced -benchtime 2400x ./store/sqlite   (60 s at 20k/s)
//	go test -run XXX -bench Query ./store/sqlite          (90 days × 1000 meters, built once)
//	go test -run XXX -bench Open ./store/sqlite           (10,000 meters)
//
// BENCH_METERS sets the number of meters of the ingest benchmarks (1000),
// BENCH_SYNC=normal their sync level (full).
// The query and open databases are built once into the temp dir and reused.

func benchSync() Sync {
	if os.Getenv("BENCH_SYNC") == "normal" {
		return SyncNormal
	}
	return SyncFull
}

func benchCache() int {
	n, _ := strconv.Atoi(os.Getenv("BENCH_CACHE_MB"))
	return n
}

func benchMeters() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_METERS")); err == nil && n > 0 {
		return n
	}
	return 1000
}

// fastReading makes reading k of meter i cheaply (no fmt, no hashing).
func fastReading(id string, i, k int, start time.Time, index uint64, step time.Duration) store.Reading {
	var h [32]byte
	binary.LittleEndian.PutUint64(h[:], uint64(i))
	binary.LittleEndian.PutUint64(h[8:], uint64(k))
	w := float64((i*7919+k*104729)%1000) / 1000
	at := start.Add(time.Duration(k) * step)
	return store.Reading{
		Meter: id, Seq: uint64(k + 1), Time: at, Received: at.Add(150 * time.Millisecond), Index: index, Hash: h,
		Values: []store.Value{
			{Channel: "total_m3", Value: math.Round((1000+float64(k)*0.5+w)*1000) / 1000},
			{Channel: "flow_m3h", Value: math.Round((30+10*w)*100) / 100},
			{Channel: "pressure_mpa", Value: math.Round((0.3+0.05*w)*1000) / 1000},
			{Channel: "ph", Value: math.Round((7+w)*100) / 100},
			{Channel: "cond_us_cm", Value: math.Round(800 + 100*w)},
		},
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func quantile(ds []time.Duration, q float64) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[min(len(s)-1, int(q*float64(len(s))))].Microseconds()) / 1000
}

func reportLatency(b *testing.B, lat []time.Duration) {
	b.ReportMetric(quantile(lat, 0.5), "p50_ms")
	b.ReportMetric(quantile(lat, 0.99), "p99_ms")
	b.ReportMetric(quantile(lat, 1), "max_ms")
}

func dbBytes(path string) int64 {
	var n int64
	for _, suf := range []string{"", "-wal"} {
		if fi, err := os.Stat(path + suf); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// BenchmarkIngest commits flat out: each op is one batch with one reading
// of every meter (1000 readings, 5000 values by default), background
// compaction on. It reports throughput, commit latency, the throughput of
// the last fifth of the run against the first (growth), CPU per million
// readings and bytes on disk per reading.
func BenchmarkIngest(b *testing.B) {
	n := benchMeters()
	s, path := openTemp(b, Options{Logf: b.Logf, Sync: benchSync(), CacheMB: benchCache()})
	ids := setup(b, s, n)
	start := time.Date(2026, 8, 1, 0, 0, 0, 0, cst)
	ctx := context.Background()
	var (
		lat   []time.Duration
		marks []time.Duration
		idx   uint64
	)
	cpu0 := cpuTime()
	t0 := time.Now()
	k := 0
	for b.Loop() {
		batch := &store.Batch{Readings: make([]store.Reading, n)}
		for i, id := range ids {
			idx++
			batch.Readings[i] = fastReading(id, i, k, start, idx, time.Minute)
		}
		batch.LedgerSize = idx + 1
		c0 := time.Now()
		if err := s.Commit(ctx, batch); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(c0))
		marks = append(marks, time.Since(t0))
		k++
	}
	el := time.Since(t0)
	cpu := cpuTime() - cpu0
	readings := float64(k * n)
	b.ReportMetric(readings/el.Seconds(), "readings/s")
	b.ReportMetric(5*readings/el.Seconds(), "values/s")
	reportLatency(b, lat)
	if k >= 10 {
		f := k / 5
		first := float64(f*n) / marks[f-1].Seconds()
		last := float64(f*n) / (marks[k-1] - marks[k-1-f]).Seconds()
		b.ReportMetric(last/first, "last/first_rate")
		var seg []string
		for j := 0; j < 5; j++ {
			from := time.Duration(0)
			if j > 0 {
				from = marks[j*f-1]
			}
			seg = append(seg, fmt.Sprintf("%.0f", float64(f*n)/(marks[(j+1)*f-1]-from).Seconds()))
		}
		b.Logf("readings/s by fifth of the run: %v", seg)
	}
	b.ReportMetric(cpu.Seconds()/readings*1e6, "cpu_s/Mreadings")
	st := s.Stats()
	b.ReportMetric(float64(st.Compactions), "compactions")
	if fi, err := os.Stat(path + "-wal"); err == nil {
		b.ReportMetric(float64(fi.Size())/(1<<20), "wal_MB")
	}
	if err := s.Compact(ctx); err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil { // folds the WAL into the database
		b.Fatal(err)
	}
	b.ReportMetric(float64(dbBytes(path))/readings, "disk_B/reading")
}

// BenchmarkIngestPaced commits at the target rate, 20,000 readings/s
// (100,000 values/s) in batches of 500 every 25 ms, for b.N batches, and
// reports commit latency and the share of one core the store used.
func BenchmarkIngestPaced(b *testing.B) {
	n := benchMeters()
	s, _ := openTemp(b, Options{Logf: b.Logf, Sync: benchSync(), CacheMB: benchCache()})
	ids := setup(b, s, n)
	start := time.Date(2026, 8, 1, 0, 0, 0, 0, cst)
	ctx := context.Background()
	const per, every = 500, 25 * time.Millisecond
	var (
		lat []time.Duration
		idx uint64
	)
	seq := make([]int, n)
	tick := time.NewTicker(every)
	defer tick.Stop()
	cpu0 := cpuTime()
	t0 := time.Now()
	next := 0
	for b.Loop() {
		<-tick.C
		batch := &store.Batch{Readings: make([]store.Reading, per)}
		for j := range batch.Readings {
			i := next % n
			next++
			idx++
			batch.Readings[j] = fastReading(ids[i], i, seq[i], start, idx, 50*time.Millisecond)
			seq[i]++
		}
		c0 := time.Now()
		if err := s.Commit(ctx, batch); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(c0))
	}
	el := time.Since(t0)
	b.ReportMetric(float64(next)/el.Seconds(), "readings/s")
	reportLatency(b, lat)
	b.ReportMetric((cpuTime()-cpu0).Seconds()/el.Seconds(), "cores")
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	b.ReportMetric(float64(ru.Maxrss)/1024, "maxrss_MB")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap_inuse_MB")
	b.ReportMetric(float64(s.Stats().Compactions), "compactions")
}

// queryDB builds (once) 90 days of data: meter M0000 reads every minute
// (129,600 readings), M0001…M0999 every 15 minutes (8,640 each); 8.8 M
// readings, 44 M values, 5,000 series. The last two hours of every meter
// stay in the head, as on a live server.
func queryDB(b *testing.B) (*Store, []string, time.Time) {
	const meters, days = 1000, 90
	start := time.Date(2026, 8, 1, 0, 0, 0, 0, cst)
	path := filepath.Join(os.TempDir(), fmt.Sprintf("shuixiao-store-bench-query-v2-%d-%d.db", meters, days))
	if _, err := os.Stat(path); err != nil {
		b.Logf("building %s (once)…", path)
		t0 := time.Now()
		tmp := path + ".tmp"
		os.Remove(tmp)
		s, err := Open(tmp, Options{ManualCompaction: true, Sync: SyncNormal})
		if err != nil {
			b.Fatal(err)
		}
		ids := setup(b, s, meters)
		ctx := context.Background()
		headFrom := start.AddDate(0, 0, days).Add(-2 * time.Hour)
		// Number the channels through the ordinary path.
		if err := s.Commit(ctx, &store.Batch{Readings: []store.Reading{fastReading(ids[0], 0, 0, start, 1, time.Minute)}}); err != nil {
			b.Fatal(err)
		}
		if err := s.Compact(ctx); err != nil {
			b.Fatal(err)
		}
		mids := make([]int64, len(ids))
		for i, id := range ids {
			mids[i] = s.meters[id].mid
		}
		defs, err := s.channelDefs(ctx, mids)
		if err != nil {
			b.Fatal(err)
		}
		run, err := s.newCompactRun(ctx)
		if err != nil {
			b.Fatal(err)
		}
		var idx uint64 = 1
		var head []store.Reading
		for i, id := range ids {
			step, n := 15*time.Minute, days*96
			if i == 0 {
				step, n = time.Minute, days*1440
			}
			mid := s.meters[id].mid
			var recs []chunk.Record
			for k := 0; k < n; k++ {
				if i == 0 && k == 0 {
					continue // committed above
				}
				idx++
				r := fastReading(id, i, k, start, idx, step)
				if !r.Time.Before(headFrom) {
					head = append(head, r)
					continue
				}
				rec := chunk.Record{Seq: r.Seq, T: r.Time.UnixMilli(), Recv: r.Received.UnixMilli(), Index: r.Index, Hash: r.Hash}
				for _, v := range r.Values {
					rec.Values = append(rec.Values, chunk.Value{Channel: s.chanID[v.Channel], V: v.Value})
				}
				recs = append(recs, rec)
			}
			w, err := s.prepareMeter(ctx, run, mid, recs, defs[mid])
			if err != nil {
				b.Fatal(err)
			}
			if err := s.applySlice(ctx, []*meterWork{w}, map[string][2]int64{}); err != nil {
				b.Fatal(err)
			}
		}
		run.close()
		slices.SortStableFunc(head, func(x, y store.Reading) int { return x.Time.Compare(y.Time) })
		for len(head) > 0 {
			n := min(len(head), 1000)
			if err := s.Commit(ctx, &store.Batch{Readings: head[:n]}); err != nil {
				b.Fatal(err)
			}
			head = head[n:]
		}
		s.Close()
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
		b.Logf("built in %v, %d MB", time.Since(t0).Round(time.Second), dbBytes(path)>>20)
	}
	s, err := Open(path, Options{ManualCompaction: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ids := make([]string, meters)
	for i := range ids {
		ids[i] = fmt.Sprintf("M%04d", i)
	}
	return s, ids, start
}

// BenchmarkQuery measures the queries of reference/platform.md §7 check 2
// on 90 days × 1000 meters (5000 series).
func BenchmarkQuery(b *testing.B) {
	s, ids, start := queryDB(b)
	ctx := context.Background()
	mid := start.AddDate(0, 0, 45)
	end := start.AddDate(0, 0, 90)
	agg := func(ser store.Series, from, to time.Time, iv store.Interval, fn store.Fn) func() (int, error) {
		return func() (int, error) {
			bs, err := s.Aggregate(ctx, store.AggregateQuery{Series: ser, From: from, To: to, Interval: iv, Fn: fn})
			return len(bs), err
		}
	}
	many := func(k, days int) func() (int, error) {
		sers := make([]store.Series, k)
		for i := range sers {
			sers[i] = store.Series{Meter: ids[1+i%(len(ids)-1)], Channel: "total_m3"}
		}
		return func() (int, error) {
			res, err := s.Consumption(ctx, store.ConsumptionQuery{Series: sers, From: end.AddDate(0, 0, -days-1), To: end.AddDate(0, 0, -1), Interval: store.Day})
			return len(res), err
		}
	}
	m0 := func(ch string) store.Series { return store.Series{Meter: ids[0], Channel: ch} }
	for _, q := range []struct {
		name string
		run  func() (int, error)
		want int
	}{
		{"1min_series/1day_15m_delta", agg(m0("total_m3"), mid, mid.AddDate(0, 0, 1), store.Min15, store.Delta), 96},
		{"1min_series/1day_15m_avg", agg(m0("flow_m3h"), mid, mid.AddDate(0, 0, 1), store.Min15, store.Avg), 96},
		{"1min_series/point_1day_15m_delta", agg(store.Series{Point: "P0000", Channel: "total_m3"}, mid, mid.AddDate(0, 0, 1), store.Min15, store.Delta), 96},
		{"1min_series/today_with_head_15m_delta", agg(m0("total_m3"), end.AddDate(0, 0, -1), end, store.Min15, store.Delta), 96},
		{"1min_series/90day_1d_delta", agg(m0("total_m3"), start, end, store.Day, store.Delta), 90},
		{"1min_series/90day_1h_avg", agg(m0("flow_m3h"), start, end, store.Hour, store.Avg), 2160},
		{"1min_series/1day_raw", agg(m0("flow_m3h"), mid, mid.AddDate(0, 0, 1), store.Raw, store.Last), 1440},
		{"15min_series/1day_15m_delta", agg(store.Series{Meter: ids[500], Channel: "total_m3"}, mid, mid.AddDate(0, 0, 1), store.Min15, store.Delta), 96},
		{"100_series_30_daily_consumptions", many(100, 30), 100},
		{"999_series_yesterday_consumption", many(999, 1), 999},
	} {
		b.Run(q.name, func(b *testing.B) {
			for b.Loop() {
				n, err := q.run()
				if err != nil {
					b.Fatal(err)
				}
				if n != q.want {
					b.Fatalf("%d results, want %d", n, q.want)
				}
			}
		})
	}
	b.Run("reading_by_seq_compacted", func(b *testing.B) {
		k := uint64(0)
		for b.Loop() {
			k = (k + 7919) % 100_000
			if _, err := s.ReadingBySeq(ctx, ids[0], k+1); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("admission_states_1000", func(b *testing.B) {
		for b.Loop() {
			if st, err := s.AdmissionStates(ctx); err != nil || len(st) != len(ids) {
				b.Fatal(len(st), err)
			}
		}
	})
	b.Run("1min_series/readings_page_1000", func(b *testing.B) {
		for b.Loop() {
			p, err := s.Readings(ctx, store.ReadingQuery{Meter: ids[0], From: mid, Limit: 1000})
			if err != nil || len(p.Readings) != 1000 {
				b.Fatal(len(p.Readings), err)
			}
		}
	})
}

// BenchmarkOpen measures a restart with 10,000 meters: open the database,
// rebuild the head index (20,000 head readings) and return every meter's
// admission state.
func BenchmarkOpen(b *testing.B) {
	const meters = 10_000
	path := filepath.Join(os.TempDir(), fmt.Sprintf("shuixiao-store-bench-open-v2-%d.db", meters))
	if _, err := os.Stat(path); err != nil {
		tmp := path + ".tmp"
		os.Remove(tmp)
		s, err := Open(tmp, Options{ManualCompaction: true, Sync: SyncNormal})
		if err != nil {
			b.Fatal(err)
		}
		ids := setup(b, s, meters)
		start := time.Date(2026, 8, 1, 0, 0, 0, 0, cst)
		var idx uint64
		for k := 0; k < 5; k++ {
			var batch store.Batch
			for i, id := range ids {
				idx++
				batch.Readings = append(batch.Readings, fastReading(id, i, k, start, idx, time.Minute))
			}
			if err := s.Commit(context.Background(), &batch); err != nil {
				b.Fatal(err)
			}
			if k == 2 {
				if err := s.Compact(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		}
		s.Close()
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		s, err := Open(path, Options{ManualCompaction: true})
		if err != nil {
			b.Fatal(err)
		}
		st, err := s.AdmissionStates(context.Background())
		if err != nil || len(st) != meters || st[0].Seq != 5 {
			b.Fatalf("%d states, %v", len(st), err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}
