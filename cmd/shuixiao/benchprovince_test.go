package main

import (
	"strings"
	"testing"

	"github.com/shuixiao/shuixiao/internal/store/postgres/pgtest"
)

// TestBenchProvince runs `shuixiao bench province` at a small size (20
// enterprises × 10 points, 5 s) against bus mode with PostgreSQL and reads
// its JSON line: the registry was registered in bulk and timed, the load
// went through one data collector per enterprise, the ledger holds every
// acknowledged reading, the store caught up, and the size and roll-up were
// measured.
func TestBenchProvince(t *testing.T) {
	if testing.Short() {
		t.Skip("about 30 s: a bus-mode server, an edge and 200 MQTT clients")
	}
	url := pgtest.URL(t)
	var res struct {
		Enterprises   int     `json:"enterprises"`
		Points        int     `json:"points_per_enterprise"`
		Collectors    bool    `json:"collectors"`
		RegisterS     float64 `json:"register_s"`
		RegisterPerS  float64 `json:"register_meters_per_s"`
		Meters        int     `json:"meters"`
		Speedup       float64 `json:"speedup"`
		Acked         int64   `json:"acked"`
		Failed        int64   `json:"failed"`
		PerS          float64 `json:"readings_per_s"`
		P99AckMs      float64 `json:"p99_ack_ms"`
		P99LedgerMs   float64 `json:"p99_ledger_ms"`
		Consistent    bool    `json:"ledger_holds_every_ack"`
		StoreReadings int64   `json:"store_readings"`
		PGPerM        float64 `json:"pg_readings_bytes_per_million"`
		PGSchemaPerM  float64 `json:"pg_schema_bytes_per_million"`
		RollupMs      float64 `json:"rollup_ms"`
		RollupWallMs  float64 `json:"rollup_wall_ms"`
		RollupError   string  `json:"rollup_error"`
		Edges         int     `json:"edges"`
		LedgerMissing int64   `json:"ledger_missing"`
		StoreMissing  int64   `json:"store_missing"`
		StoreCatchupS float64 `json:"store_catchup_s"`
		Schema        string  `json:"pg_schema"`
		StoreSpanS    float64 `json:"store_readings_span_s"`
	}
	runBenchCommand(t, &res, "province", "--enterprises", "20", "--points", "10", "--rate", "400",
		"--duration", "5s", "--store", url)
	switch {
	case res.Enterprises != 20 || res.Points != 10 || res.Meters != 200 || res.Edges != 1 || !res.Collectors:
		t.Fatalf("layout %+v", res)
	case res.RegisterS <= 0 || res.RegisterPerS <= 0:
		t.Fatalf("registration not timed: %+v", res)
	case res.Speedup < 1000: // 400/s from 200 meters on a 15-min cadence (0.22/s)
		t.Fatalf("speedup %v", res.Speedup)
	case res.Acked < 500 || res.Failed != 0 || res.PerS <= 0 || res.P99AckMs <= 0 || res.P99LedgerMs <= 0:
		t.Fatalf("load %+v", res)
	case !res.Consistent || res.StoreReadings != res.Acked || res.LedgerMissing != 0 || res.StoreMissing != 0 || res.StoreCatchupS <= 0:
		t.Fatalf("the ledger or the store does not hold every acknowledged reading: %+v", res)
	case !strings.HasPrefix(res.Schema, "bench_province_"):
		t.Fatalf("schema %q", res.Schema)
	case res.StoreSpanS <= 0 || res.StoreSpanS > 60:
		// 5 s of load at 400/s: each meter's readings 0.5 s apart.
		t.Fatalf("stored readings span %v s, want about the 5 s load", res.StoreSpanS)
	case res.PGPerM < 50e6 || res.PGSchemaPerM < res.PGPerM:
		// A reading row with four values cannot take less than ~50 bytes.
		t.Fatalf("PostgreSQL size per million readings %v (schema %v)", res.PGPerM, res.PGSchemaPerM)
	case res.RollupMs <= 0 || res.RollupWallMs < res.RollupMs:
		// Computed in the background, polled: the wall time holds the
		// computation's.
		t.Fatalf("roll-up time %v, wall %v: %s", res.RollupMs, res.RollupWallMs, res.RollupError)
	}
}
