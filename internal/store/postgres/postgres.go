// Package postgres is the PostgreSQL implementation of store.Store, for a
// province-size deployment: the same interfaces and the same conformance
// suite (store/storetest) as store/sqlite, with aggregates from the shared
// engine (store/aggregate), so that a figure is the same number whichever
// database computed it.
//
// It uses github.com/jackc/pgx/v5. All tables live in one PostgreSQL schema
// (Options.Schema, default "shuixiao"). Readings are in a table partitioned
// by device time, one partition per UTC month, created on demand; a batch is
// written with COPY inside the transaction that also moves the admission
// state, the ledger size, the rejection counters and the quarantine, so a
// Commit is all or nothing. A commit returns after PostgreSQL has made it
// durable as the server's synchronous_commit says (on, by default: the WAL
// is flushed to disk).
//
// One process writes a store at a time (the server or the sequencer): the
// admission state and the meter directory are cached in memory and kept
// current by that process's own writes.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/reading"
)

// Options tune a Store; the zero value is a sensible default.
type Options struct {
	// Schema is the PostgreSQL schema holding the tables; default "shuixiao".
	Schema string
	// Location is the default time zone of day and month buckets; nil:
	// Asia/Shanghai.
	Location *time.Location
	// RecentRejections bounds the log of recent rejections; default 10,000.
	RecentRejections int
	// MaxConns bounds the connection pool; default 8.
	MaxConns int32
	// RollupEvery is how often the hour summaries of ended hours whose
	// readings changed are rebuilt in the background; default 30 s.
	RollupEvery time.Duration
	// ManualRollups turns the background rebuild off: only Compact builds
	// summaries (tests and bulk loads).
	ManualRollups bool
	// Logf receives background errors; default: discarded.
	Logf func(format string, args ...any)
	// tracer, when set, sees every query (tests count round trips).
	tracer pgx.QueryTracer
}

func (o *Options) fill() {
	if o.Schema == "" {
		o.Schema = "shuixiao"
	}
	if o.Location == nil {
		o.Location = store.DefaultLocation()
	}
	if o.RecentRejections <= 0 {
		o.RecentRejections = 10_000
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 8
	}
	if o.RollupEvery <= 0 {
		o.RollupEvery = 30 * time.Second
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

// Store is the PostgreSQL implementation of store.Store. It is safe for
// concurrent use.
type Store struct {
	opt  Options
	pool *pgxpool.Pool

	// writeMu serialises write transactions of this process, so that the
	// check-then-write steps of the registry and of Commit see each other.
	writeMu sync.Mutex

	reg    sync.RWMutex
	meters map[string]*meterInfo // by meter ID
	byMid  map[int32]*meterInfo
	// pointMids are the meters of each point, ascending: a by-point
	// series resolves to them without a pass over every meter (the
	// balance alarm resolves every enterprise's points each round).
	pointMids map[string][]int32
	chanID    map[string]int32
	chanName  map[int32]string
	states    map[int32]store.MeterState // last committed reading per meter

	partitions map[int64]bool // months (UTC, as yyyy*12+m) whose partition exists; under writeMu
	ledgerSize atomic.Uint64
	closed     atomic.Bool
	// unsure is set when a Commit's transaction failed: its COMMIT may
	// have been applied with the reply lost (the server stopped, the
	// connection broke), so the admission state, channels and ledger size
	// in memory may be behind the database. The next Commit reads them
	// again first, so that a retried batch finds its readings stored and
	// leaves them out rather than inserting them twice. Under writeMu.
	unsure     bool
	stop, done chan struct{} // the background rollup builder's
	totals     totalsKeeper  // consumption pre-totals (totals.go)
	chanSets   channelSets   // points' channels decoded, by their JSON (registry.go)
}

type meterInfo struct {
	mid   int32
	id    string
	point string
}

// putMeterInfo puts mi in the meter cache and its point's index, moving it
// from the point it had; the caller holds reg.
func (s *Store) putMeterInfo(mi *meterInfo) {
	old := s.byMid[mi.mid]
	if old != nil && old.point != mi.point {
		ms := s.pointMids[old.point]
		if i, ok := slices.BinarySearch(ms, mi.mid); ok {
			ms = slices.Delete(ms, i, i+1)
		}
		if len(ms) == 0 {
			delete(s.pointMids, old.point)
		} else {
			s.pointMids[old.point] = ms
		}
	}
	if old == nil || old.point != mi.point {
		ms := s.pointMids[mi.point]
		if i, ok := slices.BinarySearch(ms, mi.mid); !ok {
			s.pointMids[mi.point] = slices.Insert(ms, i, mi.mid)
		}
	}
	s.meters[mi.id], s.byMid[mi.mid] = mi, mi
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Open connects to the database at url (postgres://user@host:port/db),
// creates the schema and its tables if needed and loads the meter directory
// and admission state.
func Open(ctx context.Context, url string, opt Options) (*Store, error) {
	opt.fill()
	if !schemaName.MatchString(opt.Schema) {
		return nil, fmt.Errorf("postgres: schema name %q: want lower-case letters, digits and _", opt.Schema)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	cfg.MaxConns = opt.MaxConns
	cfg.ConnConfig.RuntimeParams["search_path"] = opt.Schema
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	cfg.ConnConfig.Tracer = opt.tracer
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{opt: opt, pool: pool, partitions: map[int64]bool{}}
	if err := s.init(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if !opt.ManualRollups {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.rollupLoop(opt.RollupEvery, s.stop, s.done)
	}
	return s, nil
}

func (s *Store) init(ctx context.Context) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// Two processes creating the schema at once would race on the
		// catalogue: an advisory lock orders them.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('shuixiao schema ' || $1::text))`, s.opt.Schema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+s.opt.Schema); err != nil {
			return err
		}
		var present bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, s.opt.Schema+".meta").Scan(&present); err != nil {
			return err
		}
		if !present { // a new store
			if _, err := tx.Exec(ctx, schema+networkSchema+controlSchema+deviceSchema+rollupSchema+managementSchema); err != nil {
				return fmt.Errorf("create tables: %w", err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO meta(k, v) VALUES ('schema', $1), ('ledger_size', 0)`, schemaVersion); err != nil {
				return err
			}
			return s.featureTables(ctx, tx)
		}
		var v int64
		if err := tx.QueryRow(ctx, `SELECT v FROM meta WHERE k = 'schema'`).Scan(&v); err != nil {
			return err
		}
		if v > schemaVersion {
			return fmt.Errorf("schema version %d is newer than this build's %d", v, schemaVersion)
		}
		return s.featureTables(ctx, tx)
	})
	if err != nil {
		return err
	}
	return s.load(ctx)
}

// load reads the meter directory, the channel names, the admission state
// and the ledger size into memory. They replace the caches only once all
// are read: a load that fails half-way (the server gone again) leaves the
// caches as they were. Called at Open and, under writeMu, by Commit after
// a failed one; registry writes take writeMu too, so none is missed.
func (s *Store) load(ctx context.Context) error {
	n := &Store{meters: map[string]*meterInfo{}, byMid: map[int32]*meterInfo{}, pointMids: map[string][]int32{},
		chanID: map[string]int32{}, chanName: map[int32]string{}, states: map[int32]store.MeterState{}}
	rows, err := s.pool.Query(ctx, `SELECT mid, id, point FROM meters`)
	if err != nil {
		return err
	}
	for rows.Next() {
		mi := &meterInfo{}
		if err := rows.Scan(&mi.mid, &mi.id, &mi.point); err != nil {
			rows.Close()
			return err
		}
		n.putMeterInfo(mi)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = s.pool.Query(ctx, `SELECT cid, name FROM channels`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var cid int32
		var name string
		if err := rows.Scan(&cid, &name); err != nil {
			rows.Close()
			return err
		}
		n.chanID[name], n.chanName[cid] = cid, name
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = s.pool.Query(ctx, `SELECT meter, seq, hash, idx, t FROM meter_state`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var mid int32
		var seq, idx, t int64
		var hash []byte
		if err := rows.Scan(&mid, &seq, &hash, &idx, &t); err != nil {
			rows.Close()
			return err
		}
		st := store.MeterState{Seq: uint64(seq), Index: uint64(idx), Time: time.UnixMilli(t).UTC()}
		copy(st.Hash[:], hash)
		if mi := n.byMid[mid]; mi != nil {
			st.Meter = mi.id
		}
		n.states[mid] = st
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var size int64
	if err := s.pool.QueryRow(ctx, `SELECT v FROM meta WHERE k = 'ledger_size'`).Scan(&size); err != nil {
		return err
	}
	s.reg.Lock()
	s.meters, s.byMid, s.pointMids = n.meters, n.byMid, n.pointMids
	s.chanID, s.chanName, s.states = n.chanID, n.chanName, n.states
	s.reg.Unlock()
	s.ledgerSize.Store(uint64(size))
	return nil
}

// Close releases the connection pool. Committed data stays durable.
func (s *Store) Close() error {
	if s.stop != nil {
		select {
		case <-s.stop:
		default:
			close(s.stop)
			<-s.done
		}
	}
	if s.closed.Swap(true) {
		return nil
	}
	s.pool.Close()
	return nil
}

// tx runs fn in a transaction, committing when it returns nil.
func (s *Store) tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback(ctx)
		return err
	}
	return tx.Commit(ctx)
}

// withWrite runs fn in a write transaction of this process.
func (s *Store) withWrite(ctx context.Context, fn func(tx pgx.Tx) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.tx(ctx, fn)
}

// q is a pool or a transaction.
type q interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// exists reports whether a row with the key is in the table.
func exists(ctx context.Context, db q, table, col, key string) (bool, error) {
	var one int
	err := db.QueryRow(ctx, `SELECT 1 FROM `+table+` WHERE `+col+` = $1`, key).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// ms is a time as Unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

// utc is Unix milliseconds as a time.
func utc(v int64) time.Time { return time.UnixMilli(v).UTC() }

// seqKey stores a uint64 seq order-preserving in a signed bigint (a
// quarantined entry's seq may be any uint64).
func seqKey(seq uint64) int64 { return int64(seq ^ 1<<63) }

func seqFrom(k int64) uint64 { return uint64(k) ^ 1<<63 }

// hashOf copies a stored hash.
func hashOf(b []byte) reading.Hash {
	var h reading.Hash
	copy(h[:], b)
	return h
}

// featureDDL holds the tables a feature file adds (CREATE TABLE/INDEX IF NOT
// EXISTS, ALTER TABLE … ADD COLUMN IF NOT EXISTS only), each appended by that
// file's init; init runs them on every start, new store or old, so a new
// table needs no version step.
var featureDDL []string

func (s *Store) featureTables(ctx context.Context, tx pgx.Tx) error {
	for _, ddl := range featureDDL {
		if _, err := tx.Exec(ctx, ddl); err != nil {
			return fmt.Errorf("create feature tables: %w", err)
		}
	}
	return nil
}
