package postgres

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/postgres/pgtest"
)

// queryCounter counts the statements a store sends.
type queryCounter struct {
	mu sync.Mutex
	n  int
}

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return ctx
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *queryCounter) count(f func()) int {
	c.mu.Lock()
	n0 := c.n
	c.mu.Unlock()
	f()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n - n0
}

// TestManySeriesRoundTrips: Consumption, Aggregate's single series and
// ConsumptionTotals send as many statements for 40 series as for one,
// whether the series have hour summaries, readings not yet summarised,
// pre-totals or nothing.
func TestManySeriesRoundTrips(t *testing.T) {
	url, schema := pgtest.Schema(t)
	ctx := context.Background()
	qc := &queryCounter{}
	s, err := Open(ctx, url, Options{Schema: schema, MaxConns: 4, ManualRollups: true, tracer: qc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ids := register(t, s, 40)
	start := time.Date(2026, 3, 30, 0, 0, 0, 0, s.opt.Location)
	var b store.Batch
	idx := uint64(0)
	for i, id := range ids[:30] { // ten points without any reading
		for k := range 4 * 24 {
			b.Readings = append(b.Readings, fastReading(id, i, k, start, idx, time.Hour))
			idx++
		}
	}
	if err := s.Commit(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	// Readings of the last day not summarised yet (dirty hours).
	b = store.Batch{}
	for i, id := range ids[:20] {
		b.Readings = append(b.Readings, fastReading(id, i, 4*24, start, idx, time.Hour))
		idx++
	}
	if err := s.Commit(ctx, &b); err != nil {
		t.Fatal(err)
	}
	series := make([]store.Series, len(ids))
	for i := range ids {
		series[i] = store.Series{Point: "P" + ids[i][1:], Channel: "total_m3"}
	}
	series[7] = store.Series{Meter: ids[7], Channel: "total_m3"}
	for _, q := range []store.ConsumptionQuery{
		{From: start, To: start.AddDate(0, 0, 5), Interval: store.Hour},
		{From: start.AddDate(0, -3, 0), To: start.AddDate(0, 2, 0), Interval: store.Month},
		{From: start.Add(90 * time.Minute), To: start.AddDate(0, 0, 2), Interval: store.Min15},
	} {
		var one, many int
		one = qc.count(func() {
			q.Series = series[:1]
			if _, err := s.Consumption(ctx, q); err != nil {
				t.Fatal(err)
			}
		})
		many = qc.count(func() {
			q.Series = series
			res, err := s.Consumption(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != len(series) {
				t.Fatalf("%d series answered, want %d", len(res), len(series))
			}
		})
		if many != one || many > 8 {
			t.Errorf("Consumption %s: %d statements for %d series, %d for one", q.Interval, many, len(series), one)
		}
		if q.Interval != store.Hour {
			continue
		}
		one = qc.count(func() {
			q.Series = series[:1]
			if _, err := s.ConsumptionTotals(ctx, q); err != nil {
				t.Fatal(err)
			}
		})
		many = qc.count(func() {
			q.Series = series
			if _, err := s.ConsumptionTotals(ctx, q); err != nil {
				t.Fatal(err)
			}
		})
		if many != one || many > 12 {
			t.Errorf("ConsumptionTotals: %d statements for %d series, %d for one", many, len(series), one)
		}
	}
	n := qc.count(func() {
		if _, err := s.Aggregate(ctx, store.AggregateQuery{Series: series[2], From: start, To: start.AddDate(0, 0, 5), Interval: store.Day, Fn: store.Delta}); err != nil {
			t.Fatal(err)
		}
	})
	if n > 8 {
		t.Errorf("Aggregate of a series of one meter over 5 days: %d statements", n)
	}
}
