package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Catching up after the load: in bus mode an acknowledged reading is in
// the stream, and the sequencer appends it to the ledger and commits it to
// the store later. A bench waits for that as long as the sequencer makes
// progress, not for a fixed time: on a slow run it may take minutes.
const (
	// catchUpStall is how long a count may stay still before the bench
	// gives up waiting for it.
	catchUpStall = 60 * time.Second
	// catchUpLimit bounds the whole wait, progress or not.
	catchUpLimit = 2 * time.Hour
	// catchUpPoll is how often the count is read.
	catchUpPoll = 100 * time.Millisecond
)

// catchUp is the outcome of waitCaughtUp.
type catchUp struct {
	Got, Want int64
	// Took is the time from the load's end to the count reaching Want,
	// or to giving up.
	Took time.Duration
	Err  error // the last failed read, when the count never reached Want
}

// Reached is the one rule of a bench's consistency: the count holds every
// acknowledged reading.
func (c catchUp) Reached() bool { return c.Got >= c.Want }

// Missing is how many the count lacked when the wait ended (0 if none).
func (c catchUp) Missing() int64 { return max(0, c.Want-c.Got) }

// waitCaughtUp reads count until it reaches want, waiting as long as it
// grows: it gives up once the count has not grown for stall, or limit after
// it started. A failed read counts as no progress. Took counts from since
// (the load's end, when the last acknowledgement came).
func waitCaughtUp(count func() (int64, error), want int64, since time.Time, stall, limit time.Duration) catchUp {
	cu := catchUp{Got: -1, Want: want}
	start := time.Now()
	lastGrowth := start
	for {
		n, err := count()
		now := time.Now()
		switch {
		case err != nil:
			cu.Err = err
		case n > cu.Got:
			cu.Got, cu.Err, lastGrowth = n, nil, now
		}
		if cu.Reached() || now.Sub(lastGrowth) >= stall || now.Sub(start) >= limit {
			cu.Got = max(cu.Got, 0)
			cu.Took = now.Sub(since)
			if cu.Reached() {
				cu.Err = nil
			}
			return cu
		}
		time.Sleep(catchUpPoll)
	}
}

// report prints the outcome of a wait on stderr.
func (c catchUp) report(what string) {
	if c.Reached() {
		fmt.Fprintf(os.Stderr, "%s caught up %.1f s after the last acknowledgement\n", what, c.Took.Seconds())
		return
	}
	fmt.Fprintf(os.Stderr, "%s still lacked %d of %d %.1f s after the last acknowledgement (no progress for %s, or %s in all): %v\n",
		what, c.Missing(), c.Want, c.Took.Seconds(), catchUpStall, catchUpLimit, c.Err)
}

// benchPG is a bench's own PostgreSQL schema, fresh for the run, which the
// server and the edges are pointed at; the schema a --store URL names (or
// the store's default, shuixiao) is left alone.
type benchPG struct {
	conn   *pgx.Conn
	url    string // the database's URL, without the schema
	schema string
}

// isPostgres reports whether a --store is a PostgreSQL URL.
func isPostgres(spec string) bool {
	return strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://")
}

// openBenchPG makes a fresh schema name prefix + random hex in the
// database split.Store names (which must be a PostgreSQL URL) and points
// split.Store at it. The returned function drops the schema, unless keep,
// and closes the connection; the schema is created by the server that
// opens it, and dropped only if it did not exist before.
func openBenchPG(split *benchSplit, prefix string, keep bool) (*benchPG, func(), error) {
	pgURL, schema, err := benchSchema(split.Store, prefix)
	if err != nil {
		return nil, nil, err
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return nil, nil, fmt.Errorf("PostgreSQL %s: %w", redact(pgURL), err)
	}
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil || exists {
		conn.Close(ctx)
		if err == nil {
			err = fmt.Errorf("schema %s exists already: not the bench's own", schema)
		}
		return nil, nil, err
	}
	split.Store = pgURL + "&schema=" + schema
	pg := &benchPG{conn: conn, url: pgURL, schema: schema}
	return pg, func() {
		if keep {
			fmt.Fprintf(os.Stderr, "PostgreSQL schema kept: %s\n", schema)
		} else if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			fmt.Fprintf(os.Stderr, "drop the bench's schema %s: %v\n", schema, err)
		}
		conn.Close(ctx)
	}, nil
}

// benchSchema is the PostgreSQL URL of spec without its schema, and a
// fresh schema name for the bench, prefix and 8 hex digits.
func benchSchema(spec, prefix string) (string, string, error) {
	u, err := url.Parse(spec)
	if err != nil || !isPostgres(spec) {
		return "", "", fmt.Errorf("--store %q: want a PostgreSQL URL", spec)
	}
	q := u.Query()
	q.Del("schema")
	if q.Get("sslmode") == "" {
		q.Set("sslmode", "disable")
	}
	u.RawQuery = q.Encode()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return u.String(), prefix + hex.EncodeToString(b), nil
}
