// Package migrate moves a data directory's SQLite store into PostgreSQL and
// proves the copy: every table's row count on both sides, and a SHA-256
// digest of every kind of record as the store interfaces return it from
// each store (registry, readings meter by meter, admission state, ledger
// size, alarms and their histories, tokens, audit log, networks, work
// orders, control records, device secrets, meters' data collectors,
// rejections, quarantine), so a record changed, lost or added on the way is
// named. SQLite keeps the collectors in a table beside meters
// (meter_collectors), PostgreSQL in meters.collector: they are copied after
// the meters and counted as that table on both sides.
//
// Registry and record tables are copied row by row with their IDs (COPY);
// readings go through the PostgreSQL store's Commit, meter by meter in seq
// order, so every rule a live commit applies is applied to them too.
package migrate

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/postgres"

	_ "modernc.org/sqlite" // the SQLite file is read directly too
)

// Source is the SQLite side: the store (for readings and digests) and the
// path of its database file (for the tables, read directly).
type Source struct {
	Store Store
	Path  string
}

// Store is what the digests read from either side.
type Store interface {
	store.Store
	store.Networks
	store.Controls
	store.DeviceSecrets
}

// column kinds: how a SQLite value becomes a PostgreSQL one.
const (
	str   = 's' // TEXT → TEXT
	byt   = 'b' // TEXT → BYTEA (strangers' bytes kept exactly)
	num   = 'i' // INTEGER → BIGINT/INTEGER
	flt   = 'f' // REAL → DOUBLE PRECISION
	jsn   = 'j' // TEXT (JSON) → JSONB
	jsnOr = 'J' // TEXT (JSON or '') → JSONB or NULL
	boo   = 'B' // INTEGER 0/1 → BOOLEAN
	blob  = 'x' // BLOB → BYTEA
)

// table is one table copied row by row: SQLite column, PostgreSQL column
// and kind, in order.
type table struct {
	name string
	cols []col
}

type col struct {
	src, dst string
	kind     byte
}

func cols(spec string) []col {
	var out []col
	for _, f := range strings.Fields(spec) {
		name, kind, _ := strings.Cut(f, ":")
		src, dst, ok := strings.Cut(name, ">")
		if !ok {
			dst = src
		}
		out = append(out, col{src: src, dst: dst, kind: kind[0]})
	}
	return out
}

// tables are copied in this order (references first).
var tables = []table{
	{"regions", cols("code:s name:s name_en:s parent:s")},
	{"parks", cols("id:s name:s name_en:s region:s industries:j lat:f lon:f")},
	{"enterprises", cols("id:s name:s name_en:s park:s region:s industry:s products:j above_scale:B")},
	{"points", cols("id:s enterprise:s name:s name_en:s level:i stage:s source:s parent:s channels:j roles:J")},
	{"gateways", cols("id:s key:s enterprise:s revoked:B registered:i")},
	{"gateway_devices", cols("protocol:s device:s gateway:s record:s")},
	{"meters", cols("mid:i id:s point:s serial:s model:s key:s signed:s revoked:B registered:i interval_ms:i gateway:s")},
	{"device_secrets", cols("meter:s record:s")},
	{"control_plants", cols("id:s enterprise:s config:s updated:i")},
	{"control_commands", cols("id:s plant:s enterprise:s device:s actuator:s kind:s issued:i record:s")},
	{"control_overrides", cols("plant:s actuator:s record:s")},
	{"tokens", cols("id:s hash:x name:s role:s scope:s created:i revoked:i")},
	{"alarms", cols("id:i kind:s severity:s enterprise:s point:s meter:s message:s state:s raised:i last_raised:i count:i acked:i acked_by:s cleared:i cleared_by:s")},
	{"alarm_events", cols("id:i alarm:i t:i action:s by>by_:s note:s")},
	{"networks", cols("id:s name:s name_en:s park:s enterprise:s inp:s config:s created:i updated:i")},
	{"leak_events", cols("alarm:i network:s start:i detected:i raised:i flow:f candidates:j")},
	{"work_orders", cols("id:i network:s alarm:i park:s enterprise:s title:s state:s created:i created_by:s assignee:s assigned:i closed:i closed_by:s repaired_link:s note:s leak_start:i leak_flow:f water_lost:f")},
	{"work_order_events", cols("id:i work_order:i t:i action:s by>by_:s assignee:s link:s note:s")},
	{"rejection_counts", cols("reason:b meter:b n:i last:i")},
	{"rejections", cols("id:i reason:b meter:b source:b n:i first:i t:i detail:b")},
	{"quarantine", cols("idx:i t:i meter:b seq:i reason:b detail:b")},
	{"audit", cols("id:i t:i actor:b role:b action:b target:b status:i remote:b detail:b")},
	{"production", cols("id:i enterprise:s kind:s product:s quantity:f unit:s t_from:i t_to:i reported_by:s reported_at:i note:s")},
	{"quota_cases", cols("id:i enterprise:s enterprise_name:s park:s region:s product:s unit:s value:f qlimit:f grade:s standard:s verified:B period_from:i period_to:i state:s opened_at:i deadline:i owner:s evidence_months:i closed_at:i")},
	{"quota_case_events", cols("id:i qcase:i t:i from_s:s to_s:s actor:s note:s")},
	// The plan's registries and the evaluation's answers.
	{"water_managers", cols("enterprise:s body:j")},
	{"service_providers", cols("id:s body:j")},
	{"quota_case_links", cols("qcase:i provider:s technology:s note:s linked_by:s linked_at:i")},
	{"evaluation_answers", cols("id:i enterprise:s requirement:s met:B note:s answered_by:s answered_at:i")},
}

// batchRows is how many rows one COPY carries.
const batchRows = 5000

// Run copies src into dst, which must be empty, and returns the report;
// Report.OK tells whether every count and digest agrees.
func Run(ctx context.Context, src Source, dst *postgres.Store, progress func(format string, args ...any)) (Report, error) {
	if progress == nil {
		progress = func(string, ...any) {}
	}
	var rep Report
	empty, err := dst.Empty(ctx)
	if err != nil {
		return rep, err
	}
	if !empty {
		return rep, fmt.Errorf("the PostgreSQL store already holds records: migrate only into an empty schema / 目标库非空")
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: src.Path}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		return rep, err
	}
	defer db.Close()
	srcCounts := map[string]int64{}
	for _, t := range tables {
		n, err := copyTable(ctx, db, dst, t)
		if err != nil {
			return rep, err
		}
		srcCounts[t.name] = n
		progress("%-18s %d rows", t.name, n)
	}
	n, err := copyCollectors(ctx, db, dst)
	if err != nil {
		return rep, err
	}
	srcCounts[collectorsTable] = n
	progress("%-18s %d rows", collectorsTable, n)
	if err := dst.FinishImport(ctx); err != nil {
		return rep, err
	}
	nr, err := copyReadings(ctx, src.Store, dst, progress)
	if err != nil {
		return rep, err
	}
	srcCounts["readings"] = nr
	return compare(ctx, src.Store, srcCounts, dst)
}

// Check compares a SQLite store with a PostgreSQL one already migrated
// (counts of the tables and the readings, and every digest) without
// copying anything.
func Check(ctx context.Context, src Source, dst *postgres.Store) (Report, error) {
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: src.Path}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		return Report{}, err
	}
	defer db.Close()
	srcCounts := map[string]int64{}
	for _, name := range append(tableNames(), collectorsTable) {
		ok, err := hasTable(ctx, db, name)
		if err != nil {
			return Report{}, err
		}
		if !ok {
			srcCounts[name] = 0
			continue
		}
		var n int64
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+name).Scan(&n); err != nil {
			return Report{}, err
		}
		srcCounts[name] = n
	}
	meters, err := src.Store.Meters(ctx, store.Filter{})
	if err != nil {
		return Report{}, err
	}
	var nr int64
	for _, m := range meters {
		if err := src.Store.ScanReadings(ctx, store.ReadingQuery{Meter: m.ID}, func(*store.Reading) error { nr++; return nil }); err != nil {
			return Report{}, err
		}
	}
	srcCounts["readings"] = nr
	return compare(ctx, src.Store, srcCounts, dst)
}

// compare counts and digests both sides.
func compare(ctx context.Context, src Store, srcCounts map[string]int64, dst *postgres.Store) (Report, error) {
	var rep Report
	dstCounts, err := dst.TableCounts(ctx)
	if err != nil {
		return rep, err
	}
	names := make([]string, 0, len(srcCounts))
	for n := range srcCounts {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		rep.Counts = append(rep.Counts, Count{What: n, Source: srcCounts[n], Target: dstCounts[n]})
	}
	a, err := Digest(ctx, src)
	if err != nil {
		return rep, fmt.Errorf("digest of the SQLite store: %w", err)
	}
	b, err := Digest(ctx, dst)
	if err != nil {
		return rep, fmt.Errorf("digest of the PostgreSQL store: %w", err)
	}
	for i := range a {
		rep.Digests = append(rep.Digests, Pair{What: a[i].What, Source: a[i], Target: b[i]})
	}
	return rep, nil
}

func tableNames() []string {
	out := make([]string, len(tables))
	for i, t := range tables {
		out[i] = t.name
	}
	return out
}

// hasTable tells whether the SQLite store has the table (an older store
// may lack one).
func hasTable(ctx context.Context, db *sql.DB, name string) (bool, error) {
	var exists int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, name).Scan(&exists)
	return exists > 0, err
}

// collectorsTable keeps, in SQLite, the data collector of each meter
// behind one (meter.Meter.Collector); PostgreSQL keeps it in meters.
const collectorsTable = "meter_collectors"

// copyCollectors sets the imported meters' collectors and returns how many
// rows the SQLite table has; the PostgreSQL side counts its meters behind a
// collector, so a row lost or added on the way is a count mismatch.
func copyCollectors(ctx context.Context, db *sql.DB, dst *postgres.Store) (int64, error) {
	ok, err := hasTable(ctx, db, collectorsTable)
	if err != nil || !ok {
		return 0, err
	}
	rows, err := db.QueryContext(ctx, `SELECT id, collector FROM `+collectorsTable)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", collectorsTable, err)
	}
	defer rows.Close()
	var total int64
	var ids, collectors []string
	flush := func() error {
		if len(ids) == 0 {
			return nil
		}
		_, err := dst.ImportCollectors(ctx, ids, collectors)
		ids, collectors = ids[:0], collectors[:0]
		return err
	}
	for rows.Next() {
		var id, c string
		if err := rows.Scan(&id, &c); err != nil {
			return total, fmt.Errorf("read %s: %w", collectorsTable, err)
		}
		ids, collectors = append(ids, id), append(collectors, c)
		total++
		if len(ids) == batchRows {
			if err := flush(); err != nil {
				return total, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return total, fmt.Errorf("read %s: %w", collectorsTable, err)
	}
	return total, flush()
}

// copyTable copies one table (absent in an older SQLite store: 0 rows).
func copyTable(ctx context.Context, db *sql.DB, dst *postgres.Store, t table) (int64, error) {
	if ok, err := hasTable(ctx, db, t.name); err != nil || !ok {
		return 0, err
	}
	srcCols, dstCols := make([]string, len(t.cols)), make([]string, len(t.cols))
	for i, c := range t.cols {
		srcCols[i], dstCols[i] = `"`+c.src+`"`, c.dst
	}
	rows, err := db.QueryContext(ctx, `SELECT `+strings.Join(srcCols, ", ")+` FROM `+t.name)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", t.name, err)
	}
	defer rows.Close()
	var total int64
	batch := make([][]any, 0, batchRows)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := dst.ImportRows(ctx, t.name, dstCols, batch)
		total += n
		batch = batch[:0]
		return err
	}
	for rows.Next() {
		raw := make([]any, len(t.cols))
		ptrs := make([]any, len(t.cols))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return total, fmt.Errorf("read %s: %w", t.name, err)
		}
		row := make([]any, len(t.cols))
		for i, c := range t.cols {
			if row[i], err = convert(raw[i], c.kind); err != nil {
				return total, fmt.Errorf("%s.%s: %w", t.name, c.src, err)
			}
		}
		batch = append(batch, row)
		if len(batch) == batchRows {
			if err := flush(); err != nil {
				return total, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return total, fmt.Errorf("read %s: %w", t.name, err)
	}
	return total, flush()
}

// convert turns a SQLite value into what the PostgreSQL column takes.
func convert(v any, kind byte) (any, error) {
	asString := func() string {
		switch x := v.(type) {
		case string:
			return x
		case []byte:
			return string(x)
		case nil:
			return ""
		}
		return fmt.Sprint(v)
	}
	switch kind {
	case str:
		return asString(), nil
	case byt, blob:
		return []byte(asString()), nil
	case num:
		if x, ok := v.(int64); ok {
			return x, nil
		}
		return nil, fmt.Errorf("not an integer: %v", v)
	case flt:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		}
		return nil, fmt.Errorf("not a number: %v", v)
	case boo:
		x, ok := v.(int64)
		if !ok {
			return nil, fmt.Errorf("not a 0/1 flag: %v", v)
		}
		return x != 0, nil
	case jsn, jsnOr:
		s := asString()
		if s == "" && kind == jsnOr {
			return nil, nil
		}
		if !json.Valid([]byte(s)) {
			return nil, fmt.Errorf("not JSON: %.40q", s)
		}
		return json.RawMessage(s), nil
	}
	return nil, fmt.Errorf("unknown column kind %q", kind)
}

// copyReadings commits every meter's readings, in seq order, in batches,
// then the source's ledger size.
func copyReadings(ctx context.Context, src Store, dst *postgres.Store, progress func(string, ...any)) (int64, error) {
	meters, err := src.Meters(ctx, store.Filter{})
	if err != nil {
		return 0, err
	}
	var total int64
	for _, m := range meters {
		var rs []store.Reading
		if err := src.ScanReadings(ctx, store.ReadingQuery{Meter: m.ID}, func(r *store.Reading) error {
			rs = append(rs, *r)
			return nil
		}); err != nil {
			return total, fmt.Errorf("read readings of %s: %w", m.ID, err)
		}
		slices.SortFunc(rs, func(a, b store.Reading) int { return compareU64(a.Seq, b.Seq) })
		for i := 0; i < len(rs); i += batchRows {
			if err := dst.Commit(ctx, &store.Batch{Readings: rs[i:min(len(rs), i+batchRows)]}); err != nil {
				return total, fmt.Errorf("readings of %s: %w", m.ID, err)
			}
		}
		total += int64(len(rs))
		if len(rs) > 0 {
			progress("readings of %-10s %d", m.ID, len(rs))
		}
	}
	size, err := src.LedgerSize(ctx)
	if err != nil {
		return total, err
	}
	return total, dst.Commit(ctx, &store.Batch{LedgerSize: size})
}

func compareU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
