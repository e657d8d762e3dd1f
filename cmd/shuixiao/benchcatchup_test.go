package main

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shuixiao/shuixiao/internal/store/postgres/pgtest"
)

// TestWaitCaughtUp: the bench waits for the ledger or the store as long as
// the count grows — past the stall time, which a fixed deadline (the old
// 60 s) would have ended — and gives up once it stands still for the
// stall time, or at the overall limit, saying how many are missing.
func TestWaitCaughtUp(t *testing.T) {
	const stall = 300 * time.Millisecond
	// growing counts one more every 40 ms from zero; the catch-up takes
	// ~1.6 s, five stall times.
	growing := func(upTo int64) func() (int64, error) {
		start := time.Now()
		return func() (int64, error) { return min(upTo, int64(time.Since(start)/(40*time.Millisecond))), nil }
	}
	t.Run("slow but growing", func(t *testing.T) {
		since := time.Now()
		cu := waitCaughtUp(growing(40), 40, since, stall, time.Minute)
		if !cu.Reached() || cu.Missing() != 0 || cu.Got != 40 || cu.Took < 1500*time.Millisecond || cu.Err != nil {
			t.Fatalf("%+v: want caught up after ~1.6 s", cu)
		}
	})
	t.Run("stands still", func(t *testing.T) {
		start := time.Now()
		cu := waitCaughtUp(growing(10), 40, start, stall, time.Minute)
		if took := time.Since(start); cu.Reached() || cu.Missing() != 30 || took < 400*time.Millisecond+stall || took > 400*time.Millisecond+stall+time.Second {
			t.Fatalf("%+v after %v: want 30 missing, given up a stall time after the count stopped at 10 (0.4 s)", cu, took)
		}
	})
	t.Run("limit", func(t *testing.T) {
		start := time.Now()
		cu := waitCaughtUp(growing(1000), 1000, start, stall, time.Second)
		if took := time.Since(start); cu.Reached() || cu.Missing() == 0 || took > 2*time.Second {
			t.Fatalf("%+v after %v: want given up at the 1 s limit while still growing", cu, took)
		}
	})
	t.Run("failing reads", func(t *testing.T) {
		var calls atomic.Int64
		boom := errors.New("boom")
		cu := waitCaughtUp(func() (int64, error) {
			if calls.Add(1)%2 == 0 {
				return 0, boom
			}
			return calls.Load(), nil // grows between the failures
		}, 11, time.Now(), stall, time.Minute)
		if !cu.Reached() || cu.Err != nil {
			t.Fatalf("%+v: failed reads in between are not the end", cu)
		}
		cu = waitCaughtUp(func() (int64, error) { return 0, boom }, 5, time.Now(), stall, time.Minute)
		if cu.Reached() || cu.Missing() != 5 || !errors.Is(cu.Err, boom) {
			t.Fatalf("%+v: want the read's error and 5 missing", cu)
		}
	})
}

// TestBenchIngestPostgresTwice runs `shuixiao bench ingest --store
// postgres://…` twice in a row against the same database: each run writes
// into a fresh schema of its own (pg_schema), so the second does not meet
// the first's park, and each schema is dropped at the end. The old bench
// wrote into the store's default schema and left it: the second run failed
// (409, park exists).
func TestBenchIngestPostgresTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("about 20 s: two bench runs on PostgreSQL")
	}
	url := pgtest.URL(t)
	var schemas []string
	for range 2 {
		var res struct {
			Acked      int64  `json:"acked"`
			Failed     int64  `json:"failed"`
			Consistent bool   `json:"ledger_holds_every_ack"`
			Schema     string `json:"pg_schema"`
		}
		runBenchCommand(t, &res, "ingest", "--meters", "10", "--rate", "100", "--duration", "1s", "--inflight", "2", "--store", url)
		if res.Acked < 50 || res.Failed != 0 || !res.Consistent || res.Schema == "" || res.Schema == "shuixiao" {
			t.Fatalf("run %d: %+v", len(schemas)+1, res)
		}
		schemas = append(schemas, res.Schema)
	}
	if schemas[0] == schemas[1] {
		t.Fatalf("both runs in schema %s", schemas[0])
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, s := range schemas {
		var left bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, s).Scan(&left); err != nil || left {
			t.Errorf("schema %s left behind (%v)", s, err)
		}
	}
}
