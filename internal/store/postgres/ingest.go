package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/quarantine"
)

// row is one reading ready for COPY.
type row struct {
	mid   int32
	seq   int64
	t     int64
	recv  int64
	idx   int64
	hash  []byte
	flags int32
	cids  []int32
	vals  []float64
}

var readingCols = []string{"meter", "seq", "t", "recv", "idx", "hash", "flags", "cids", "vals"}

// Commit implements store.Ingester: the batch's readings (COPY into their
// month partitions), the admission state, the ledger size, the rejection
// counters and the quarantine in one transaction.
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
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed.Load() {
		return store.ErrClosed
	}
	if s.unsure {
		if err := s.load(ctx); err != nil {
			return fmt.Errorf("commit: read the state again after a failed commit: %w", err)
		}
		s.unsure = false
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
	rows, states, newChans, err := s.prepare(ctx, b.Readings)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	months := map[int64]bool{}
	chanIDs := map[string]int32{}
	err = s.tx(ctx, func(tx pgx.Tx) error {
		for _, name := range newChans {
			var cid int32
			if err := tx.QueryRow(ctx, `INSERT INTO channels(name) VALUES ($1) RETURNING cid`, name).Scan(&cid); err != nil {
				return fmt.Errorf("add channel %s: %w", name, err)
			}
			chanIDs[name] = cid
		}
		for i := range rows {
			for j, c := range rows[i].cids {
				if c < 0 { // a new channel: -1-k is newChans[k]
					rows[i].cids[j] = chanIDs[newChans[-1-c]]
				}
			}
			if m := monthOf(rows[i].t); !s.partitions[m] && !months[m] {
				if err := createPartition(ctx, tx, m); err != nil {
					return err
				}
				months[m] = true
			}
		}
		if err := markDirty(ctx, tx, rows); err != nil {
			return err
		}
		if len(rows) > 0 {
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"readings"}, readingCols, pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
				r := &rows[i]
				return []any{r.mid, r.seq, r.t, r.recv, r.idx, r.hash, r.flags, r.cids, r.vals}, nil
			}))
			if err != nil {
				return fmt.Errorf("insert readings: %w", err)
			}
		}
		if len(states) > 0 {
			// One statement for every meter of the batch: a round trip per
			// meter would cost more than the COPY.
			var (
				mids       = make([]int32, 0, len(states))
				seqs, idxs = make([]int64, 0, len(states)), make([]int64, 0, len(states))
				hashes     = make([][]byte, 0, len(states))
				times      = make([]int64, 0, len(states))
				firsts     = make([]int64, 0, len(states))
			)
			first := firstTimes(rows)
			for mid, st := range states {
				mids, seqs, idxs = append(mids, mid), append(seqs, int64(st.Seq)), append(idxs, int64(st.Index))
				hashes, times = append(hashes, st.Hash[:]), append(times, ms(st.Time))
				firsts = append(firsts, first[mid])
			}
			// first_t (firstReadingDDL): the batch's earliest reading of a
			// new meter; the lesser of the two for a known one; unknown
			// stays unknown.
			if _, err := tx.Exec(ctx, `INSERT INTO meter_state(meter, seq, hash, idx, t, first_t)
				SELECT * FROM unnest($1::integer[], $2::bigint[], $3::bytea[], $4::bigint[], $5::bigint[], $6::bigint[])
				ON CONFLICT (meter) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, idx = excluded.idx, t = excluded.t,
					first_t = CASE WHEN meter_state.first_t IS NULL THEN NULL ELSE LEAST(meter_state.first_t, excluded.first_t) END`,
				mids, seqs, hashes, idxs, times, firsts); err != nil {
				return fmt.Errorf("admission state: %w", err)
			}
		}
		if newSize != s.ledgerSize.Load() {
			if _, err := tx.Exec(ctx, `UPDATE meta SET v = $1 WHERE k = 'ledger_size'`, int64(newSize)); err != nil {
				return fmt.Errorf("ledger size: %w", err)
			}
		}
		if err := writeQuarantine(ctx, tx, b.Quarantined); err != nil {
			return err
		}
		return s.writeRejections(ctx, tx, b.Rejections)
	})
	if err != nil {
		s.unsure = true
		return fmt.Errorf("commit: %w", err)
	}
	// Durable: publish to the caches.
	for m := range months {
		s.partitions[m] = true
	}
	s.reg.Lock()
	for name, cid := range chanIDs {
		s.chanID[name], s.chanName[cid] = cid, name
	}
	for mid, st := range states {
		s.states[mid] = st
	}
	s.reg.Unlock()
	s.ledgerSize.Store(newSize)
	return nil
}

// prepare resolves meters and channels and applies the seq rules: a
// reading whose (meter, seq) is stored with the same hash is left out, any
// other seq not above the meter's last one is a conflict. New channel names
// get placeholder numbers −1−k (k their index in newChans).
func (s *Store) prepare(ctx context.Context, rs []store.Reading) ([]row, map[int32]store.MeterState, []string, error) {
	rows := make([]row, 0, len(rs))
	states := map[int32]store.MeterState{}
	var newChans []string
	s.reg.RLock()
	defer s.reg.RUnlock()
	for i := range rs {
		r := &rs[i]
		mi, ok := s.meters[r.Meter]
		if !ok {
			return nil, nil, nil, fmt.Errorf("reading %s/%d: meter %w", r.Meter, r.Seq, store.ErrNotFound)
		}
		last, hasLast := states[mi.mid]
		if !hasLast {
			last, hasLast = s.states[mi.mid]
		}
		if hasLast && r.Seq <= last.Seq {
			if same, found := sameInBatch(rows, mi.mid, r); found {
				if same {
					continue // the batch holds it twice
				}
				return nil, nil, nil, fmt.Errorf("reading %s/%d: %w: seq not above %d", r.Meter, r.Seq, store.ErrConflict, last.Seq)
			}
			var hash []byte
			err := s.pool.QueryRow(ctx, `SELECT hash FROM readings WHERE meter = $1 AND seq = $2`, mi.mid, int64(r.Seq)).Scan(&hash)
			if err == nil && hashOf(hash) == r.Hash {
				continue // already committed: a replay
			}
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return nil, nil, nil, err
			}
			return nil, nil, nil, fmt.Errorf("reading %s/%d: %w: seq not above %d", r.Meter, r.Seq, store.ErrConflict, last.Seq)
		}
		states[mi.mid] = store.MeterState{Meter: r.Meter, Seq: r.Seq, Hash: r.Hash, Index: r.Index, Time: r.Time.Truncate(time.Millisecond).UTC()}
		rw := row{mid: mi.mid, seq: int64(r.Seq), t: ms(r.Time), recv: ms(r.Received), idx: int64(r.Index),
			hash: append([]byte(nil), r.Hash[:]...), flags: int32(r.Flags),
			cids: make([]int32, len(r.Values)), vals: make([]float64, len(r.Values))}
		for j, v := range r.Values {
			cid, ok := s.chanID[v.Channel]
			if !ok {
				k := indexOf(newChans, v.Channel)
				if k < 0 {
					k = len(newChans)
					newChans = append(newChans, v.Channel)
				}
				cid = int32(-1 - k)
			}
			rw.cids[j], rw.vals[j] = cid, v.Value
		}
		rows = append(rows, rw)
	}
	return rows, states, newChans, nil
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// sameInBatch reports whether rows hold (mid, r.Seq) and whether with r's hash.
func sameInBatch(rows []row, mid int32, r *store.Reading) (same, found bool) {
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].mid == mid && rows[i].seq == int64(r.Seq) {
			return hashOf(rows[i].hash) == r.Hash, true
		}
	}
	return false, false
}

// monthOf is the UTC month of a device time, as year·12 + month − 1.
func monthOf(t int64) int64 {
	u := utc(t)
	return int64(u.Year())*12 + int64(u.Month()) - 1
}

// createPartition makes the readings partition of one UTC month.
func createPartition(ctx context.Context, tx pgx.Tx, m int64) error {
	y, mo := int(m/12), time.Month(m%12+1)
	from := time.Date(y, mo, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 1, 0)
	name := fmt.Sprintf("readings_%04d%02d", y, int(mo))
	_, err := tx.Exec(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF readings FOR VALUES FROM (%d) TO (%d)`, name, from.UnixMilli(), to.UnixMilli()))
	if err != nil {
		return fmt.Errorf("partition %s: %w", name, err)
	}
	return nil
}

// AdmissionStates implements store.Ingester.
func (s *Store) AdmissionStates(ctx context.Context) ([]store.MeterState, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	s.reg.RLock()
	defer s.reg.RUnlock()
	out := make([]store.MeterState, 0, len(s.states))
	for mid, st := range s.states {
		if mi := s.byMid[mid]; mi != nil {
			st.Meter = mi.id
			out = append(out, st)
		}
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
	if seq > 1<<63-1 {
		return store.Reading{}, fmt.Errorf("reading %s/%d: %w", meterID, seq, store.ErrNotFound)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+selectReading+` FROM readings WHERE meter = $1 AND seq = $2`, mi.mid, int64(seq))
	if err != nil {
		return store.Reading{}, fmt.Errorf("reading %s/%d: %w", meterID, seq, err)
	}
	rs, err := s.scanReadings(rows, meterID)
	if err != nil {
		return store.Reading{}, fmt.Errorf("reading %s/%d: %w", meterID, seq, err)
	}
	if len(rs) == 0 {
		return store.Reading{}, fmt.Errorf("reading %s/%d: %w", meterID, seq, store.ErrNotFound)
	}
	return rs[0], nil
}

const selectReading = `seq, t, recv, idx, hash, flags, cids, vals`

// scanReadings reads rows of selectReading.
func (s *Store) scanReadings(rows pgx.Rows, meterID string) ([]store.Reading, error) {
	defer rows.Close()
	var out []store.Reading
	s.reg.RLock()
	defer s.reg.RUnlock()
	for rows.Next() {
		var seq, t, recv, idx int64
		var hash []byte
		var flags int32
		var cids []int32
		var vals []float64
		if err := rows.Scan(&seq, &t, &recv, &idx, &hash, &flags, &cids, &vals); err != nil {
			return nil, err
		}
		r := store.Reading{Meter: meterID, Seq: uint64(seq), Time: utc(t), Received: utc(recv), Index: uint64(idx),
			Hash: hashOf(hash), Flags: store.Flags(flags), Values: make([]store.Value, len(cids))}
		for i, c := range cids {
			r.Values[i] = store.Value{Channel: s.chanName[c], Value: vals[i]}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// checkQuarantine validates a batch's quarantine records against the ledger
// size the batch leaves behind.
func checkQuarantine(qs []quarantine.Record, ledgerSize uint64) error {
	for _, q := range qs {
		if q.Reason == "" || len(q.Reason) > 64 {
			return fmt.Errorf("quarantine %d: %w: reason must be 1-64 bytes", q.Index, store.ErrInvalid)
		}
		if q.Index >= ledgerSize {
			return fmt.Errorf("quarantine %d: %w: not below the ledger size %d", q.Index, store.ErrInvalid, ledgerSize)
		}
	}
	return nil
}

// writeQuarantine inserts a batch's quarantine records; an index already
// quarantined keeps its first record.
func writeQuarantine(ctx context.Context, tx pgx.Tx, qs []quarantine.Record) error {
	for _, q := range qs {
		detail := store.Clip(q.Detail, quarantine.MaxDetail)
		if _, err := tx.Exec(ctx, `INSERT INTO quarantine(idx, t, meter, seq, reason, detail) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (idx) DO NOTHING`, int64(q.Index), ms(q.Time), []byte(q.Meter), seqKey(q.Seq), []byte(q.Reason), []byte(detail)); err != nil {
			return fmt.Errorf("quarantine ledger entry %d: %w", q.Index, err)
		}
	}
	return nil
}

// Quarantined implements store.Quarantines.
func (s *Store) Quarantined(ctx context.Context, f quarantine.Filter) ([]quarantine.Record, error) {
	out, err := list(ctx, s, "quarantine", `SELECT idx, t, meter, seq, reason, detail FROM quarantine
		WHERE (length($1::bytea) = 0 OR meter = $1) ORDER BY idx DESC LIMIT $2`, []any{[]byte(f.Meter), f.PageSize()},
		func(r pgx.Rows) (quarantine.Record, error) {
			var q quarantine.Record
			var idx, t, seq int64
			var m, reason, detail []byte
			err := r.Scan(&idx, &t, &m, &seq, &reason, &detail)
			q.Meter, q.Reason, q.Detail = string(m), string(reason), string(detail)
			q.Index, q.Time, q.Seq = uint64(idx), utc(t), seqFrom(seq)
			return q, err
		})
	if out == nil && err == nil {
		out = []quarantine.Record{}
	}
	return out, err
}
