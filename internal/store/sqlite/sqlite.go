package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"

	_ "modernc.org/sqlite" // registers driver "sqlite"
)

// Sync is how hard a commit waits for the disk.
type Sync int

// Sync levels (SQLite's synchronous pragma in WAL mode).
const (
	// SyncFull fsyncs the write-ahead log at every commit: a committed batch
	// survives a crash of the process, of the OS and a power loss.
	SyncFull Sync = iota
	// SyncNormal writes the log at every commit but fsyncs only at
	// checkpoints. A committed batch survives kill -9 of the process (it is in
	// the OS page cache, which the kernel writes out); an OS crash or power
	// loss can lose the last commits, never corrupt the database.
	SyncNormal
)

// Options tune a Store; the zero value is a sensible default.
type Options struct {
	// Location is the default time zone of day and month buckets; nil:
	// Asia/Shanghai.
	Location *time.Location
	// Sync is the durability of Commit; default SyncFull.
	Sync Sync
	// CompactRows starts a background compaction when the head holds this
	// many readings; default 100,000.
	CompactRows int
	// CompactAge starts a background compaction when the oldest head reading
	// was committed this long ago; default 2 minutes.
	CompactAge time.Duration
	// ManualCompaction turns background compaction off; only Compact moves
	// readings, and Commit never waits for it (tests and bulk loads).
	ManualCompaction bool
	// RecentRejections bounds the log of recent rejections; default 10,000.
	RecentRejections int
	// CacheMB is the page cache of the writing connection; default 16. Each
	// reading connection has a quarter of it.
	CacheMB int
	// Readers is the number of reading connections; default 4.
	Readers int
	// Logf receives background errors (compaction); default: discarded.
	Logf func(format string, args ...any)
}

func (o *Options) fill() {
	if o.Location == nil {
		o.Location = store.DefaultLocation()
	}
	if o.CompactRows <= 0 {
		o.CompactRows = 100_000
	}
	if o.CompactAge <= 0 {
		o.CompactAge = 2 * time.Minute
	}
	if o.RecentRejections <= 0 {
		o.RecentRejections = 10_000
	}
	if o.CacheMB <= 0 {
		o.CacheMB = 16
	}
	if o.Readers <= 0 {
		o.Readers = 4
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

// Store is the SQLite implementation of store.Store. It is safe for
// concurrent use; one process may open a database at a time.
type Store struct {
	opt  Options
	w    *sql.DB // one connection: every write goes through it
	r    *sql.DB // read connections (WAL readers see committed snapshots)
	ckpt *sql.DB // one connection that checkpoints the WAL into the database

	// writeMu serialises write transactions so that commits, registry
	// changes and compaction slices interleave in bounded steps instead of
	// waiting on SQLite's busy handler.
	writeMu sync.Mutex
	nextRid int64 // next hot row id; under writeMu
	inserts map[int]*sql.Stmt

	reg      sync.RWMutex
	meters   map[string]*meterInfo
	byMid    map[int64]*meterInfo
	chanID   map[string]uint32
	chanName []string // by cid; [0] unused
	// pointCache holds each point's channels and meters, for resolving
	// series and channel kinds without a query; loaded on first use so that
	// a restart does not wait for it.
	pointCache map[string]*pointInfo

	head       head
	ledgerSize atomic.Uint64
	audit      auditQueue // records waiting for their group commit (audit.go)

	compactMu sync.Mutex // one compaction at a time
	compacted map[int64]uint64
	backfill  backfillCursor // consumption pre-totals of data compacted before they were kept (totals.go)
	kick      chan struct{}
	stop      chan struct{}
	done      chan struct{}
	ckptDone  chan struct{}
	closed    atomic.Bool
	stats     statsCounters
}

type pointInfo struct {
	channels []meter.Channel
	mids     []int64 // meters on the point, in registration order
}

type meterInfo struct {
	mid      int64
	id       string
	point    string
	interval time.Duration
}

var _ store.Store = (*Store)(nil)
var _ store.Compacter = (*Store)(nil)

// Open opens or creates the database at path.
func Open(path string, opt Options) (*Store, error) {
	opt.fill()
	sync := "FULL"
	if opt.Sync == SyncNormal {
		sync = "NORMAL"
	}
	base := "file:" + (&url.URL{Path: path}).EscapedPath() + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(0)"
	// The writer never checkpoints: a checkpoint inside COMMIT would add its
	// copy and fsync to one unlucky batch's latency. checkpointLoop does it
	// on its own connection, which SQLite runs alongside the writer.
	w, err := sql.Open("sqlite", base+fmt.Sprintf("&_pragma=synchronous(%s)&_pragma=cache_size(-%d)&_pragma=wal_autocheckpoint(0)&_pragma=journal_size_limit(67108864)&_txlock=immediate", sync, opt.CacheMB*1024))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := migrate(w); err != nil {
		w.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	if _, err := w.Exec(schema + auditSchema + managementDDL + strings.Join(featureDDL, "\n")); err != nil {
		w.Close()
		return nil, fmt.Errorf("create schema in %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", base+fmt.Sprintf("&_pragma=cache_size(-%d)&_pragma=query_only(1)", opt.CacheMB*256))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r.SetMaxOpenConns(opt.Readers)
	r.SetMaxIdleConns(opt.Readers)
	r.SetConnMaxLifetime(0)
	ck, err := sql.Open("sqlite", base+fmt.Sprintf("&_pragma=synchronous(%s)", sync))
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	ck.SetMaxOpenConns(1)
	ck.SetMaxIdleConns(1)
	ck.SetConnMaxLifetime(0)
	s := &Store{
		opt: opt, w: w, r: r, ckpt: ck,
		inserts:   map[int]*sql.Stmt{},
		meters:    map[string]*meterInfo{},
		byMid:     map[int64]*meterInfo{},
		chanID:    map[string]uint32{},
		chanName:  []string{""},
		compacted: map[int64]uint64{},
		kick:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		ckptDone:  make(chan struct{}),
		stats:     statsCounters{drained: make(chan struct{})},
	}
	s.head.init()
	if err := s.prepareInserts(context.Background()); err != nil {
		w.Close()
		r.Close()
		ck.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := s.load(context.Background()); err != nil {
		w.Close()
		r.Close()
		ck.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	go s.compactLoop()
	go s.checkpointLoop()
	return s, nil
}

// migrate brings a store written by an older build to schemaVersion, one
// version per transaction. A new or current store is left alone; a newer one
// is refused by load.
func migrate(w *sql.DB) error {
	var v int64
	err := w.QueryRow(`SELECT v FROM meta WHERE k = 'schema'`).Scan(&v)
	if err != nil {
		// No meta table or no version yet: a new store, which schema creates.
		return nil
	}
	for ; v < schemaVersion; v++ {
		step, ok := migrations[v]
		if !ok {
			return fmt.Errorf("no migration from schema version %d", v)
		}
		tx, err := w.Begin()
		if err != nil {
			return err
		}
		if _, err := tx.Exec(step); err != nil {
			tx.Rollback()
			return fmt.Errorf("schema %d to %d: %w", v, v+1, err)
		}
		if _, err := tx.Exec(`UPDATE meta SET v = ? WHERE k = 'schema'`, v+1); err != nil {
			tx.Rollback()
			return fmt.Errorf("schema %d to %d: %w", v, v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("schema %d to %d: %w", v, v+1, err)
		}
	}
	return nil
}

// load checks the schema version and rebuilds the in-memory state: meter and
// channel numbers, the ledger size, the admission states and the head index.
func (s *Store) load(ctx context.Context) error {
	var v int64
	err := s.w.QueryRowContext(ctx, `SELECT v FROM meta WHERE k = 'schema'`).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := s.w.ExecContext(ctx, `INSERT INTO meta(k, v) VALUES ('schema', ?), ('ledger_size', 0)`, schemaVersion); err != nil {
			return fmt.Errorf("init meta: %w", err)
		}
	case err != nil:
		return fmt.Errorf("read schema version: %w", err)
	case v != schemaVersion:
		return fmt.Errorf("schema version %d, this build reads %d", v, schemaVersion)
	}
	if err := s.w.QueryRowContext(ctx, `SELECT v FROM meta WHERE k = 'ledger_size'`).Scan(&v); err != nil {
		return fmt.Errorf("read ledger size: %w", err)
	}
	s.ledgerSize.Store(uint64(v))

	rows, err := s.w.QueryContext(ctx, `SELECT mid, id, point, interval_ms FROM meters ORDER BY mid`)
	if err != nil {
		return fmt.Errorf("load meters: %w", err)
	}
	for rows.Next() {
		mi := &meterInfo{}
		var iv int64
		if err := rows.Scan(&mi.mid, &mi.id, &mi.point, &iv); err != nil {
			rows.Close()
			return fmt.Errorf("load meters: %w", err)
		}
		mi.interval = time.Duration(iv) * time.Millisecond
		s.meters[mi.id], s.byMid[mi.mid] = mi, mi
	}
	if err := closeRows(rows); err != nil {
		return fmt.Errorf("load meters: %w", err)
	}

	rows, err = s.w.QueryContext(ctx, `SELECT cid, name FROM channels ORDER BY cid`)
	if err != nil {
		return fmt.Errorf("load channels: %w", err)
	}
	for rows.Next() {
		var cid int64
		var name string
		if err := rows.Scan(&cid, &name); err != nil {
			rows.Close()
			return fmt.Errorf("load channels: %w", err)
		}
		for int64(len(s.chanName)) <= cid {
			s.chanName = append(s.chanName, "")
		}
		s.chanName[cid] = name
		s.chanID[name] = uint32(cid)
	}
	if err := closeRows(rows); err != nil {
		return fmt.Errorf("load channels: %w", err)
	}

	rows, err = s.w.QueryContext(ctx, `SELECT meter, seq, hash, idx, t FROM meter_state`)
	if err != nil {
		return fmt.Errorf("load meter states: %w", err)
	}
	for rows.Next() {
		var mid, seq, idx, t int64
		var hash []byte
		if err := rows.Scan(&mid, &seq, &hash, &idx, &t); err != nil {
			rows.Close()
			return fmt.Errorf("load meter states: %w", err)
		}
		st := lastState{seq: seqFrom(seq), idx: uint64(idx), t: t}
		copy(st.hash[:], hash)
		s.head.last[mid] = st
		s.compacted[mid] = st.seq
	}
	if err := closeRows(rows); err != nil {
		return fmt.Errorf("load meter states: %w", err)
	}

	rows, err = s.w.QueryContext(ctx, `SELECT rid, meter, rec FROM hot ORDER BY rid`)
	if err != nil {
		return fmt.Errorf("load head: %w", err)
	}
	now := time.Now().UnixMilli()
	for rows.Next() {
		var rid, mid int64
		var blob []byte
		if err := rows.Scan(&rid, &mid, &blob); err != nil {
			rows.Close()
			return fmt.Errorf("load head: %w", err)
		}
		rec, err := decodeHot(blob)
		if err != nil {
			rows.Close()
			return fmt.Errorf("load head row %d: %w", rid, err)
		}
		s.head.add(mid, rid, rec, now)
	}
	if err := closeRows(rows); err != nil {
		return fmt.Errorf("load head: %w", err)
	}
	s.nextRid = s.head.maxRid + 1
	return nil
}

// loadPoints fills the point cache if it is not loaded yet.
func (s *Store) loadPoints(ctx context.Context) error {
	s.reg.RLock()
	loaded := s.pointCache != nil
	s.reg.RUnlock()
	if loaded {
		return nil
	}
	// Registry writes update the cache after their commit, when it exists;
	// holding writeMu while reading makes sure none falls in between.
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	rows, err := s.r.QueryContext(ctx, `SELECT id, channels FROM points`)
	if err != nil {
		return fmt.Errorf("load points: %w", err)
	}
	cache := map[string]*pointInfo{}
	for rows.Next() {
		var id, js string
		if err := rows.Scan(&id, &js); err != nil {
			rows.Close()
			return fmt.Errorf("load points: %w", err)
		}
		pi := &pointInfo{}
		if err := json.Unmarshal([]byte(js), &pi.channels); err != nil {
			rows.Close()
			return fmt.Errorf("point %s channels: %w", id, err)
		}
		cache[id] = pi
	}
	if err := closeRows(rows); err != nil {
		return fmt.Errorf("load points: %w", err)
	}
	s.reg.Lock()
	defer s.reg.Unlock()
	if s.pointCache != nil {
		return nil // loaded meanwhile, and kept up to date since
	}
	mids := make([]int64, 0, len(s.byMid))
	for mid := range s.byMid {
		mids = append(mids, mid)
	}
	slices.Sort(mids)
	for _, mid := range mids {
		if pi := cache[s.byMid[mid].point]; pi != nil {
			pi.mids = append(pi.mids, mid)
		}
	}
	s.pointCache = cache
	return nil
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close stops background compaction and closes the database. Committed data
// is durable without it.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	close(s.stop)
	<-s.done
	<-s.ckptDone
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	for _, st := range s.inserts {
		st.Close()
	}
	// Fold the log into the database so that the next open starts clean.
	_, _ = s.w.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	err := s.r.Close()
	if werr := s.ckpt.Close(); err == nil {
		err = werr
	}
	if werr := s.w.Close(); err == nil {
		err = werr
	}
	return err
}

// checkpointEvery is how often the WAL is folded into the database, and
// walRestartFrames the WAL length (pages) at which it is also restarted.
const (
	checkpointEvery  = 500 * time.Millisecond
	walRestartFrames = 8192
)

// checkpointLoop copies committed WAL frames into the database file in the
// background. The copy runs PASSIVE, beside the writer and the readers. But
// a WAL only starts over from its beginning when a write finds it entirely
// copied, which never happens while commits keep coming; so once the WAL is
// long, a second PASSIVE pass runs under writeMu, copying only the frames
// the first pass missed, and the next commit restarts the WAL.
func (s *Store) checkpointLoop() {
	defer close(s.ckptDone)
	tick := time.NewTicker(checkpointEvery)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		logFrames, err := s.checkpoint()
		if err == nil && logFrames >= walRestartFrames {
			s.writeMu.Lock()
			if !s.closed.Load() {
				_, err = s.checkpoint()
			}
			s.writeMu.Unlock()
		}
		if err != nil && !s.closed.Load() {
			s.opt.Logf("store: checkpoint: %v", err)
		}
	}
}

// checkpoint runs a PASSIVE checkpoint and returns the WAL length in pages.
func (s *Store) checkpoint() (int64, error) {
	var busy, logFrames, done int64
	err := s.ckpt.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &done)
	return logFrames, err
}

// seqKey maps a uint64 seq to an int64 preserving order, for SQL columns.
func seqKey(seq uint64) int64 { return int64(seq ^ 1<<63) }

// seqFrom inverts seqKey.
func seqFrom(k int64) uint64 { return uint64(k) ^ 1<<63 }

// withWrite runs fn in a write transaction under writeMu.
func (s *Store) withWrite(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed.Load() {
		return store.ErrClosed
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Stats are counters for monitoring.
type Stats struct {
	HeadReadings    int           // readings waiting for compaction
	Compactions     uint64        // completed compaction runs
	CompactedRows   uint64        // readings moved into chunks
	LastCompaction  time.Duration // duration of the last run
	CompactionError string        // last background error, if any
}

type statsCounters struct {
	mu      sync.Mutex
	drained chan struct{} // closed and replaced after each compaction run
	runs    uint64
	rows    uint64
	last    time.Duration
	err     string
}

// Stats returns monitoring counters.
func (s *Store) Stats() Stats {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	s.head.mu.RLock()
	n := s.head.rows
	s.head.mu.RUnlock()
	return Stats{HeadReadings: n, Compactions: s.stats.runs, CompactedRows: s.stats.rows, LastCompaction: s.stats.last, CompactionError: s.stats.err}
}
