package postgres

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// Benchmarks print the figures issue 16 asks for (PostgreSQL at
// $SHUIXIAO_TEST_POSTGRES or 127.0.0.1:5432):
//
//	go test -run XXX -bench Ingest -benchtime 200x ./internal/store/postgres   (200 batches × 1,000 readings)
//	go test -run XXX -bench Query ./internal/store/postgres                    (90 days of one series)
//
// BENCH_METERS sets the meters per batch (1000).

func benchMeters() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_METERS")); err == nil && n > 0 {
		return n
	}
	return 1000
}

// register makes enterprise E and n meters M0000… on points P0000… with
// the five channels of a typical meter.
func register(tb testing.TB, s *Store, n int) []string {
	ctx := context.Background()
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(s.CreateEnterprise(ctx, meter.Enterprise{ID: "E", Name: "E", Region: "430300", Industry: "3120"}))
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("M%04d", i)
		pt := fmt.Sprintf("P%04d", i)
		must(s.CreatePoint(ctx, meter.Point{ID: pt, Enterprise: "E", Name: pt, Level: meter.Level3, Stage: meter.StageUse, Channels: []meter.Channel{
			{Name: "total_m3", Unit: "m3", Kind: meter.Total, Rollover: 99999.99, Max: 1e9},
			{Name: "flow_m3h", Unit: "m3/h", Kind: meter.Rate, Max: 1e4},
			{Name: "pressure_mpa", Unit: "MPa", Kind: meter.Rate, Max: 10},
			{Name: "ph", Unit: "[pH]", Kind: meter.Rate, Max: 14},
			{Name: "cond_us_cm", Unit: "uS/cm", Kind: meter.Rate, Max: 1e5},
		}}))
		_, vkey, err := note.GenerateKey(rand.Reader, reading.KeyName(ids[i]))
		must(err)
		must(s.CreateMeter(ctx, meter.Meter{ID: ids[i], Point: pt, Key: vkey, Signed: meter.SignedByMeter, Registered: time.Unix(0, 0), Interval: time.Minute}))
	}
	return ids
}

// fastReading makes reading k of meter i cheaply.
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

// BenchmarkIngest commits flat out: each op is one batch with BENCH_PER
// (default 1) readings of every meter (1,000 meters: 1,000 readings, 5,000
// values per reading each). It reports readings committed per second
// (durable: synchronous_commit as the server has it) and the table's bytes
// per reading.
func BenchmarkIngest(b *testing.B) {
	s := openTemp(b)
	n := benchMeters()
	per := 1
	if v, err := strconv.Atoi(os.Getenv("BENCH_PER")); err == nil && v > 0 {
		per = v
	}
	ids := register(b, s, n)
	ctx := context.Background()
	start := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	var idx uint64
	k := 0
	t0 := time.Now()
	for b.Loop() {
		batch := &store.Batch{Readings: make([]store.Reading, 0, n*per)}
		for i, id := range ids {
			for j := 0; j < per; j++ {
				idx++
				batch.Readings = append(batch.Readings, fastReading(id, i, k+j, start, idx, time.Minute))
			}
		}
		batch.LedgerSize = idx + 1
		if err := s.Commit(ctx, batch); err != nil {
			b.Fatal(err)
		}
		k += per
	}
	el := time.Since(t0)
	b.ReportMetric(float64(k*n)/el.Seconds(), "readings/s")
	var bytes int64
	if err := s.pool.QueryRow(ctx, `SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'readings'::regclass`).Scan(&bytes); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(bytes)/float64(k*n), "disk_B/reading")
	b.ReportMetric(float64(n*per), "readings/batch")
}

// BenchmarkQuery90Days: one meter with 90 days of readings every 15
// minutes (8,640) and every minute (129,600); daily consumption and hourly
// average over the 90 days, from the hour summaries (BENCH_NO_ROLLUPS=1:
// from the readings).
func BenchmarkQuery90Days(b *testing.B) {
	s := openTemp(b)
	ids := register(b, s, 2)
	ctx := context.Background()
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, store.DefaultLocation())
	var idx uint64
	for i, step := range []time.Duration{15 * time.Minute, time.Minute} {
		n := int(90 * 24 * time.Hour / step)
		for k := 0; k < n; k += 5000 {
			batch := &store.Batch{}
			for j := k; j < min(n, k+5000); j++ {
				idx++
				batch.Readings = append(batch.Readings, fastReading(ids[i], i, j, start, idx, step))
			}
			if err := s.Commit(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
	}
	if os.Getenv("BENCH_NO_ROLLUPS") == "" {
		t0 := time.Now()
		if err := s.Compact(ctx); err != nil {
			b.Fatal(err)
		}
		b.Logf("hour summaries of %d readings built in %v", 90*24*(4+60), time.Since(t0))
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	end := start.AddDate(0, 0, 90)
	for _, c := range []struct {
		name string
		q    store.AggregateQuery
		want int
	}{
		{"15min_series/90day_1d_delta", store.AggregateQuery{Series: store.Series{Meter: ids[0], Channel: "total_m3"}, From: start, To: end, Interval: store.Day, Fn: store.Delta}, 90},
		{"15min_series/90day_1h_avg", store.AggregateQuery{Series: store.Series{Meter: ids[0], Channel: "flow_m3h"}, From: start, To: end, Interval: store.Hour, Fn: store.Avg}, 2160},
		{"1min_series/90day_1d_delta", store.AggregateQuery{Series: store.Series{Meter: ids[1], Channel: "total_m3"}, From: start, To: end, Interval: store.Day, Fn: store.Delta}, 90},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				bs, err := s.Aggregate(ctx, c.q)
				if err != nil || len(bs) != c.want {
					b.Fatal(len(bs), err)
				}
			}
		})
	}
}
