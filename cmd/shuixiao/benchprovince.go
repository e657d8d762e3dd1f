package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/shuixiao/shuixiao/meter"
)

// provinceCadence is the metering interval the province bench simulates.
const provinceCadence = 15 * time.Minute

// provinceResult is bench province's JSON line: bench ingest's figures
// (sustained rate, PUBACK percentiles, p99 from the stream's PubAck to
// ledger and store, the sequencer's CPU per reading) and the province's.
type provinceResult struct {
	Enterprises int `json:"enterprises"`
	Points      int `json:"points_per_enterprise"`
	// CadenceS is the simulated metering interval; Speedup how many times
	// faster than it each meter reads (time compressed); ProvincePerS the
	// rate these meters make at the true cadence.
	CadenceS     float64 `json:"cadence_s"`
	Speedup      float64 `json:"speedup"`
	ProvincePerS float64 `json:"province_readings_per_s_at_cadence"`
	// Collectors is whether each enterprise's meters were read by one data
	// collector (one MQTT session each) rather than each its own client;
	// RegisterS the time the registry took (park, enterprises, collectors,
	// points and meters, in bulk) and RegisterPerS meters a second by it.
	Collectors   bool    `json:"collectors"`
	RegisterS    float64 `json:"register_s"`
	RegisterPerS float64 `json:"register_meters_per_s"`
	*ingestResult
	// StoreReadings is the readings the store holds once it caught up
	// (waited for while it grew, as the ledger: waitCaughtUp);
	// StoreCatchupS the time from the last acknowledgement to that, or to
	// giving up, and StoreMissing how many acknowledged readings it then
	// still lacked.
	StoreReadings int64   `json:"store_readings"`
	StoreCatchupS float64 `json:"store_catchup_s"`
	StoreMissing  int64   `json:"store_missing"`
	// StoreSpanS is the time the stored readings' timestamps span (last
	// minus first): the 15-min cadence is compressed, so each meter's
	// readings are meters/rate seconds apart and the whole load spans
	// about --duration — not the province's month, nor its year.
	StoreSpanS float64 `json:"store_readings_span_s"`
	// PostgreSQL on-disk size (tables, indexes, TOAST) of the readings
	// partitions and of the whole schema, per million stored readings.
	PGReadingsBytesPerM float64 `json:"pg_readings_bytes_per_million"`
	PGSchemaBytesPerM   float64 `json:"pg_schema_bytes_per_million"`
	// RollupMs is the computation time of the province roll-up of the
	// year (every enterprise's metered figures over every stored reading,
	// internal/rollup; the snapshot's took_ms), recomputed on demand: GET
	// /api/v1/targets?refresh=1, answered 202 at once, then polled until
	// the new snapshot is answered; RollupWallMs is the time from the
	// refresh to that answer. It is not the month roll-up: the
	// year to date is read (by month, day and hour, up to the minute the
	// computation starts), and the bench's readings span StoreSpanS (about
	// --duration) of this month, not yet compacted — not a month of 15-min
	// readings (2,880 a meter). The API has no month roll-up (targets are
	// by year), so none is timed here; internal/rollup's
	// BenchmarkProvinceMonth times the month's.
	RollupMs     float64 `json:"rollup_ms"`
	RollupWallMs float64 `json:"rollup_wall_ms"`
	RollupError  string  `json:"rollup_error,omitempty"`
}

func runBenchProvince(args []string) int {
	fs := flag.NewFlagSet("bench province", flag.ContinueOnError)
	enterprises := fs.Int("enterprises", 5000, "simulated enterprises")
	points := fs.Int("points", 100, "metering points (each one meter) per enterprise")
	rollup := fs.Bool("rollup", true, "time the province roll-up of the year after the load (GET /api/v1/targets?refresh=1, then polled until computed)")
	perMeter := fs.Bool("client-per-meter", false, "each meter its own MQTT client (small sizes), instead of one data collector per enterprise forwarding its meters' readings")
	rate := fs.Float64("rate", 0, "offered readings/s over all meters: the 15-min cadence compressed to it (0: 20,000/s, or the province's true rate if that is higher)")
	duration := fs.Duration("duration", 60*time.Second, "measured load duration")
	inflight := fs.Int("inflight", 4, "unacknowledged publishes per meter")
	keep := fs.Bool("keep", false, "keep the data directory and the PostgreSQL schema")
	split := benchSplitFlags(fs)
	fs.Lookup("store").DefValue = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	split.Store = fs.Lookup("store").DefValue
	fs.Lookup("nats").DefValue = "embedded"
	split.NATS = "embedded"
	if err := fs.Parse(args); err != nil {
		return 2
	}
	res, err := benchProvince(*enterprises, *points, *rate, *duration, *inflight, *keep, !*perMeter, *rollup, split)
	return printBenchResult("bench province", res, err)
}

func benchProvince(enterprises, points int, rate float64, duration time.Duration, inflight int, keep, collectors, rollup bool, split *benchSplit) (*provinceResult, error) {
	if enterprises < 1 || points < 1 {
		return nil, errors.New("--enterprises and --points must be at least 1")
	}
	if !split.bus() {
		return nil, errors.New("bench province runs bus mode: give --nats URL or embedded")
	}
	meters := enterprises * points
	res := &provinceResult{Enterprises: enterprises, Points: points, CadenceS: provinceCadence.Seconds(),
		ProvincePerS: float64(meters) / provinceCadence.Seconds(), Collectors: collectors}
	if rate <= 0 {
		rate = max(20000, res.ProvincePerS)
	}
	res.Speedup = rate / res.ProvincePerS
	// The readings go to a schema of their own (benchIngest, openBenchPG),
	// so that the size measured is theirs.
	if !isPostgres(split.Store) {
		return nil, fmt.Errorf("--store %q: bench province needs a PostgreSQL URL", split.Store)
	}
	ctx := context.Background()
	fmt.Fprintf(os.Stderr, "province: %d enterprises × %d points = %d meters; 15-min cadence compressed %.0f× to %.0f readings/s\n",
		enterprises, points, meters, res.Speedup, rate)
	layout := benchLayout{Enterprises: enterprises, Points: points, Collectors: collectors, RegisterS: &res.RegisterS, SchemaPrefix: "bench_province_",
		After: func(c *apiClient, ir *ingestResult, pg *benchPG) error {
			conn, schema := pg.conn, pg.schema
			// Every acknowledged reading is in the store before it is
			// weighed: waited for as long as the store's count grows.
			store := waitCaughtUp(func() (n int64, err error) {
				err = conn.QueryRow(ctx, `SELECT count(*) FROM `+schema+`.readings`).Scan(&n)
				return n, err
			}, ir.Acked, ir.loadEnd, catchUpStall, catchUpLimit)
			store.report("the store")
			if store.Got == 0 && store.Err != nil {
				return store.Err
			}
			res.StoreReadings, res.StoreCatchupS, res.StoreMissing = store.Got, store.Took.Seconds(), store.Missing()
			var spanMs int64 // readings' t is in milliseconds
			if err := conn.QueryRow(ctx, `SELECT coalesce(max(t) - min(t), 0) FROM `+schema+`.readings`).Scan(&spanMs); err != nil {
				return err
			}
			res.StoreSpanS = float64(spanMs) / 1e3
			var readingsBytes, schemaBytes int64
			if err := conn.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_inherits i
			JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = ($1 || '.readings')::regclass`, schema).Scan(&readingsBytes); err != nil {
				return err
			}
			if err := conn.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')`, schema).Scan(&schemaBytes); err != nil {
				return err
			}
			if res.StoreReadings > 0 {
				res.PGReadingsBytesPerM = float64(readingsBytes) / float64(res.StoreReadings) * 1e6
				res.PGSchemaBytesPerM = float64(schemaBytes) / float64(res.StoreReadings) * 1e6
			}
			if !rollup {
				res.RollupError = "not run (--rollup=false)"
				return nil
			}
			fmt.Fprintln(os.Stderr, "rolling up the province…")
			took, wall, err := pollRollup(c, time.Now().Year(), 2*time.Second, 90*time.Minute)
			if err != nil {
				res.RollupError = err.Error() // the other figures still count
				return nil
			}
			res.RollupMs, res.RollupWallMs = float64(took.Microseconds())/1e3, float64(wall.Microseconds())/1e3
			return nil
		}}
	ir, err := benchIngest(meters, duration, inflight, rate, keep, split, layout)
	res.ingestResult = ir
	if res.RegisterS > 0 {
		res.RegisterPerS = float64(meters) / res.RegisterS
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// pollRollup asks for a new roll-up of year (GET /targets?refresh=1,
// answered 202 at once) and polls the Location it is given — waiting as
// Retry-After says, at most every — until the new snapshot is answered
// (200 without a computation under way), or limit passes. It returns the
// snapshot's computation time and the time from the refresh to its answer.
func pollRollup(c *apiClient, year int, every, limit time.Duration) (took, wall time.Duration, err error) {
	t0 := time.Now()
	code, h, body, err := c.getRaw(fmt.Sprintf("/api/v1/targets?year=%d&refresh=1", year))
	if err != nil {
		return 0, 0, err
	}
	if code != http.StatusAccepted {
		return 0, 0, fmt.Errorf("refresh: HTTP %d, want 202: %s", code, bytes.TrimSpace(body))
	}
	for {
		wait := every
		if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s >= 0 {
			wait = min(wait, time.Duration(s)*time.Second)
		}
		if time.Since(t0) > limit {
			return 0, 0, fmt.Errorf("roll-up of %d still computing after %s", year, limit)
		}
		time.Sleep(wait)
		loc := h.Get("Location")
		if loc == "" {
			loc = fmt.Sprintf("/api/v1/targets?year=%d", year)
		}
		if code, h, body, err = c.getRaw(loc); err != nil {
			return 0, 0, err
		}
		switch code {
		case http.StatusAccepted:
			continue
		case http.StatusOK:
		default:
			return 0, 0, fmt.Errorf("roll-up of %d: HTTP %d: %s", year, code, bytes.TrimSpace(body))
		}
		var tg struct {
			TookMs       int64           `json:"took_ms"`
			Computing    json.RawMessage `json:"computing"`
			RefreshError string          `json:"refresh_error"`
		}
		if err := json.Unmarshal(body, &tg); err != nil {
			return 0, 0, fmt.Errorf("roll-up of %d: %w", year, err)
		}
		switch {
		case tg.RefreshError != "":
			return 0, 0, fmt.Errorf("roll-up of %d: %s", year, tg.RefreshError)
		case len(tg.Computing) > 0 && string(tg.Computing) != "null":
			continue // an older snapshot, answered while the new one runs
		}
		return time.Duration(tg.TookMs) * time.Millisecond, time.Since(t0), nil
	}
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}

// benchEnterpriseID names bench enterprise i.
func benchEnterpriseID(i int) string { return fmt.Sprintf("BENT%05d", i) }

// benchEnterprises registers n enterprises in the bench park, a few
// industries among them.
func benchEnterprises(c *apiClient, n int) error {
	industries := []string{"3120", "2211", "2614", "1761", "3311"}
	return benchParallel(n, 16, func(i int) error {
		e := meter.Enterprise{ID: benchEnterpriseID(i), Name: fmt.Sprintf("基准企业 %d", i), Park: "BENCH-PARK", Region: "430100", Industry: industries[i%len(industries)]}
		return c.postPaced("/api/v1/enterprises", e)
	})
}
