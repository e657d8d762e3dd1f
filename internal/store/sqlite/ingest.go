package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/chunk"
	"github.com/shuixiao/shuixiao/rejection"
)

// Backpressure: with more than headLimit × Options.CompactRows readings in
// the head (≈ 75 MB at the default), Commit waits for compaction, at most
// behindWait.
const (
	headLimit  = 4
	behindWait = 30 * time.Second
)

// ErrBehind is returned by Commit when the head stayed over its limit for
// as long as the context or 30 s allowed: compaction cannot keep up with
// the ingest rate, or keeps failing (a full disk, say; Stats says). Nothing
// was committed; retry later.
var ErrBehind = errors.New("compaction behind")

// waitForRoom blocks while the head is over its limit.
func (s *Store) waitForRoom(ctx context.Context) error {
	limit := headLimit * s.opt.CompactRows
	var deadline <-chan time.Time
	for {
		s.stats.mu.Lock()
		drained := s.stats.drained
		s.stats.mu.Unlock()
		s.head.mu.RLock()
		n := s.head.rows
		s.head.mu.RUnlock()
		if n <= limit {
			return nil
		}
		if deadline == nil {
			deadline = time.After(behindWait)
		}
		select {
		case s.kick <- struct{}{}:
		default:
		}
		select {
		case <-drained:
		case <-ctx.Done():
			return fmt.Errorf("commit: %w: %d readings wait for compaction: %v", ErrBehind, n, ctx.Err())
		case <-deadline:
			return fmt.Errorf("commit: %w: %d readings wait for compaction (last error: %q)", ErrBehind, n, s.Stats().CompactionError)
		case <-s.stop:
			return store.ErrClosed
		}
	}
}

// hotRow is one reading on its way into the hot table.
type hotRow struct {
	rid, mid int64
	rec      chunk.Record
	blob     []byte
}

// Commit implements store.Ingester.
func (s *Store) Commit(ctx context.Context, b *store.Batch) error {
	if b == nil {
		return nil
	}
	for i := range b.Readings {
		if err := b.Readings[i].Validate(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
	}
	for _, rj := range b.Rejections {
		if rj.Reason == "" || len(rj.Reason) > 64 {
			return fmt.Errorf("commit: rejection: %w: reason must be 1-64 bytes", store.ErrInvalid)
		}
	}
	if len(b.Readings) > 0 && !s.opt.ManualCompaction {
		if err := s.waitForRoom(ctx); err != nil {
			return err
		}
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed.Load() {
		return store.ErrClosed
	}
	rows, newChans, err := s.prepareRows(ctx, b.Readings)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	newSize := s.ledgerSize.Load()
	if b.LedgerSize > newSize {
		if b.LedgerSize > store.MaxIndex {
			return fmt.Errorf("commit: %w: ledger size %d", store.ErrInvalid, b.LedgerSize)
		}
		newSize = b.LedgerSize
	}
	if err := checkQuarantine(b.Quarantined, newSize); err != nil {
		return fmt.Errorf("commit: %w", err)
	}

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("commit: begin: %w", err)
	}
	if err := writeQuarantine(ctx, tx, b.Quarantined); err != nil {
		tx.Rollback()
		return fmt.Errorf("commit: %w", err)
	}
	if err := s.writeBatch(ctx, tx, rows, newChans, newSize, b.Rejections); err != nil {
		tx.Rollback()
		return fmt.Errorf("commit: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}

	// Publish: the rows are durable, let queries and admission see them.
	if len(newChans) > 0 {
		s.reg.Lock()
		for _, name := range newChans {
			s.chanID[name] = uint32(len(s.chanName))
			s.chanName = append(s.chanName, name)
		}
		s.reg.Unlock()
	}
	now := time.Now().UnixMilli()
	s.head.mu.Lock()
	for i := range rows {
		s.head.add(rows[i].mid, rows[i].rid, rows[i].rec, now)
	}
	n := s.head.rows
	s.head.mu.Unlock()
	s.ledgerSize.Store(newSize)
	if n >= s.opt.CompactRows && !s.opt.ManualCompaction {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// prepareRows resolves meters and channels, applies the seq rules and
// encodes values. Readings already stored identically are left out.
func (s *Store) prepareRows(ctx context.Context, rs []store.Reading) ([]hotRow, []string, error) {
	var (
		rows     = make([]hotRow, 0, len(rs))
		newChans []string
		pending  = make(map[int64]uint64, len(rs)) // last seq per meter within the batch
		vals     []chunk.Value                     // one allocation for the batch's values
		blobs    = make([]byte, 0, 128*len(rs))
	)
	s.reg.RLock()
	defer s.reg.RUnlock()
	nextCid := uint32(len(s.chanName))
	for i := range rs {
		r := &rs[i]
		mi, ok := s.meters[r.Meter]
		if !ok {
			return nil, nil, fmt.Errorf("reading %s/%d: meter %w", r.Meter, r.Seq, store.ErrNotFound)
		}
		last, hasLast := pending[mi.mid]
		if !hasLast {
			if st, ok := s.head.lastOf(mi.mid); ok {
				last, hasLast = st.seq, true
			}
		}
		if hasLast && r.Seq <= last {
			if sameInBatch(rows, mi.mid, r) {
				continue // the batch holds it twice
			}
			prev, err := s.recordBySeq(ctx, mi, r.Seq)
			if err == nil && prev.Hash == r.Hash {
				continue // already committed: a replay
			}
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, nil, err
			}
			return nil, nil, fmt.Errorf("reading %s/%d: %w: seq not above %d", r.Meter, r.Seq, store.ErrConflict, last)
		}
		pending[mi.mid] = r.Seq

		if cap(vals)-len(vals) < len(r.Values) {
			vals = make([]chunk.Value, 0, max(len(r.Values)*(len(rs)-i), 64))
		}
		vals = vals[:len(vals)+len(r.Values)]
		rec := chunk.Record{
			Seq: r.Seq, T: r.Time.UnixMilli(), Recv: r.Received.UnixMilli(),
			Index: r.Index, Flags: uint32(r.Flags), Hash: r.Hash,
			Values: vals[len(vals)-len(r.Values) : len(vals) : len(vals)],
		}
		for j, v := range r.Values {
			cid, ok := s.chanID[v.Channel]
			if !ok {
				for k, n := range newChans {
					if n == v.Channel {
						cid, ok = uint32(len(s.chanName)+k), true
					}
				}
			}
			if !ok {
				cid = nextCid
				nextCid++
				newChans = append(newChans, v.Channel)
			}
			rec.Values[j] = chunk.Value{Channel: cid, V: v.Value}
		}
		start := len(blobs)
		blobs = encodeHot(blobs, &rec)
		rows = append(rows, hotRow{mid: mi.mid, rec: rec, blob: blobs[start:len(blobs):len(blobs)]})
	}
	for i := range rows {
		rows[i].rid = s.nextRid + int64(i)
	}
	return rows, newChans, nil
}

// sameInBatch reports whether rows already holds reading r of meter mid.
func sameInBatch(rows []hotRow, mid int64, r *store.Reading) bool {
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].mid == mid && rows[i].rec.Seq == r.Seq {
			return rows[i].rec.Hash == r.Hash
		}
	}
	return false
}

// insertSizes are the multi-row INSERT statements used, largest first: one
// statement per 64 readings costs far less than 64 statements.
var insertSizes = []int{64, 8, 1}

// prepareInserts prepares the multi-row INSERTs; it runs at open, because
// the single write connection is busy inside a transaction later.
func (s *Store) prepareInserts(ctx context.Context) error {
	for _, n := range insertSizes {
		var b strings.Builder
		b.WriteString(`INSERT INTO hot(rid, meter, rec) VALUES `)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?,?,?)")
		}
		st, err := s.w.PrepareContext(ctx, b.String())
		if err != nil {
			return fmt.Errorf("prepare insert: %w", err)
		}
		s.inserts[n] = st
	}
	return nil
}

func (s *Store) writeBatch(ctx context.Context, tx *sql.Tx, rows []hotRow, newChans []string, ledgerSize uint64, rejs []rejection.Rejection) error {
	for j, name := range newChans {
		if _, err := tx.ExecContext(ctx, `INSERT INTO channels(cid, name) VALUES (?, ?)`, len(s.chanName)+j, name); err != nil {
			return fmt.Errorf("add channel %s: %w", name, err)
		}
	}
	args := make([]any, 0, 3*insertSizes[0])
	for i := 0; i < len(rows); {
		n := 1
		for _, size := range insertSizes {
			if len(rows)-i >= size {
				n = size
				break
			}
		}
		st := s.inserts[n]
		args = args[:0]
		for _, r := range rows[i : i+n] {
			args = append(args, r.rid, r.mid, r.blob)
		}
		if _, err := tx.Stmt(st).ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("insert readings: %w", err)
		}
		i += n
	}
	if ledgerSize != s.ledgerSize.Load() {
		if _, err := tx.ExecContext(ctx, `UPDATE meta SET v = ? WHERE k = 'ledger_size'`, int64(ledgerSize)); err != nil {
			return fmt.Errorf("update ledger size: %w", err)
		}
	}
	if len(rejs) > 0 {
		if err := s.writeRejections(ctx, tx, rejs); err != nil {
			return err
		}
	}
	s.nextRid += int64(len(rows))
	return nil
}

// AdmissionStates implements store.Ingester.
func (s *Store) AdmissionStates(ctx context.Context) ([]store.MeterState, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	s.reg.RLock()
	defer s.reg.RUnlock()
	s.head.mu.RLock()
	defer s.head.mu.RUnlock()
	out := make([]store.MeterState, 0, len(s.head.last))
	for mid, st := range s.head.last {
		mi := s.byMid[mid]
		if mi == nil {
			continue
		}
		out = append(out, store.MeterState{Meter: mi.id, Seq: st.seq, Hash: st.hash, Index: st.idx, Time: time.UnixMilli(st.t).UTC()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Meter < out[j].Meter })
	return out, nil
}

// LedgerSize implements store.Ingester.
func (s *Store) LedgerSize(ctx context.Context) (uint64, error) {
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	return s.ledgerSize.Load(), nil
}

// ReadingBySeq implements store.Ingester.
func (s *Store) ReadingBySeq(ctx context.Context, meterID string, seq uint64) (store.Reading, error) {
	if s.closed.Load() {
		return store.Reading{}, store.ErrClosed
	}
	s.reg.RLock()
	mi, ok := s.meters[meterID]
	s.reg.RUnlock()
	if !ok {
		return store.Reading{}, fmt.Errorf("reading %s/%d: meter %w", meterID, seq, store.ErrNotFound)
	}
	rec, err := s.recordBySeq(ctx, mi, seq)
	if err != nil {
		return store.Reading{}, err
	}
	return s.toReading(mi.id, &rec), nil
}

// recordBySeq finds a committed reading in the head or the chunks.
func (s *Store) recordBySeq(ctx context.Context, mi *meterInfo, seq uint64) (chunk.Record, error) {
	if rec, ok := bySeq(s.head.snapshot([]int64{mi.mid})[mi.mid], seq); ok {
		return *rec, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT data FROM chunks WHERE meter = ? AND seq_first <= ? AND seq_last >= ? ORDER BY seq_first DESC`, mi.mid, seqKey(seq), seqKey(seq))
	if err != nil {
		return chunk.Record{}, fmt.Errorf("reading %s/%d: %w", mi.id, seq, err)
	}
	defer rows.Close()
	var d chunk.Decoder
	var rec chunk.Record
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return chunk.Record{}, fmt.Errorf("reading %s/%d: %w", mi.id, seq, err)
		}
		if err := d.Reset(data); err != nil {
			return chunk.Record{}, fmt.Errorf("reading %s/%d: %w", mi.id, seq, err)
		}
		for d.Next(&rec) {
			if rec.Seq == seq {
				return rec, nil
			}
		}
		if d.Err() != nil {
			return chunk.Record{}, fmt.Errorf("reading %s/%d: %w", mi.id, seq, d.Err())
		}
	}
	if err := rows.Err(); err != nil {
		return chunk.Record{}, fmt.Errorf("reading %s/%d: %w", mi.id, seq, err)
	}
	return chunk.Record{}, fmt.Errorf("reading %s/%d: %w", mi.id, seq, store.ErrNotFound)
}

// queryer is a *sql.DB or *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// toReading converts a record to the public form.
func (s *Store) toReading(meterID string, rec *chunk.Record) store.Reading {
	s.reg.RLock()
	defer s.reg.RUnlock()
	return s.toReadingLocked(meterID, rec)
}

// toReadingLocked is toReading with s.reg held.
func (s *Store) toReadingLocked(meterID string, rec *chunk.Record) store.Reading {
	r := store.Reading{
		Meter: meterID, Seq: rec.Seq,
		Time: time.UnixMilli(rec.T).UTC(), Received: time.UnixMilli(rec.Recv).UTC(),
		Index: rec.Index, Hash: rec.Hash, Flags: store.Flags(rec.Flags),
		Values: make([]store.Value, len(rec.Values)),
	}
	for i, v := range rec.Values {
		name := ""
		if int(v.Channel) < len(s.chanName) {
			name = s.chanName[v.Channel]
		}
		r.Values[i] = store.Value{Channel: name, Value: v.V}
	}
	return r
}
