package rollup

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/postgres"
	"github.com/shuixiao/shuixiao/internal/store/postgres/pgtest"
	"github.com/shuixiao/shuixiao/production"
)

// BenchmarkYearSparsePostgres is BenchmarkYearSparse on the PostgreSQL
// driver: the year to date of SHUIXIAO_BENCH_ENTERPRISES enterprises
// (default 20) of 100 points whose only readings are in the period's last
// day (15-minute, hour summaries and pre-totals built), as bench province
// leaves a store. cpu-s/op is this process's CPU (the server's is not
// counted); s/op the wall time. SHUIXIAO_BENCH_PG_SCHEMA names a schema to
// build the store in and keep (reused when it holds the province already),
// so that builds of the code before and after a change can be compared on
// the same data.
func BenchmarkYearSparsePostgres(b *testing.B) {
	n := 20
	if v := os.Getenv("SHUIXIAO_BENCH_ENTERPRISES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("SHUIXIAO_BENCH_ENTERPRISES=%q: want a positive count", v)
		}
	}
	var url, schema string
	if schema = os.Getenv("SHUIXIAO_BENCH_PG_SCHEMA"); schema != "" {
		url = pgtest.URL(b)
	} else {
		url, schema = pgtest.Schema(b)
	}
	ctx := context.Background()
	st, err := postgres.Open(ctx, url, postgres.Options{Schema: schema, Location: production.Zone, ManualRollups: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	last := time.Date(2026, 11, 27, 0, 0, 0, 0, production.Zone)
	ents, err := st.Enterprises(ctx, store.Filter{})
	if err != nil {
		b.Fatal(err)
	}
	switch len(ents) {
	case 0:
		start := time.Now()
		fillProvince(b, provinceConfig{Enterprises: n, Points: 100, From: last, Steps: 96, Step: 15 * time.Minute, Compact: true, ValueAdded: 10}, st)
		b.Logf("built %d enterprises × 100 points in %v", n, time.Since(start).Round(time.Millisecond))
	case n:
		b.Logf("reusing schema %s", schema)
	default:
		b.Fatalf("schema %s holds %d enterprises, want %d", schema, len(ents), n)
	}
	yearSparse(b, st, n, last)
}
