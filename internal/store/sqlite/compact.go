package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/aggregate"
	"github.com/shuixiao/shuixiao/internal/store/chunk"
)

const (
	// chunkMax bounds the readings of one chunk row: a day of one-minute
	// readings is six chunks, and rewriting the open chunk stays cheap.
	chunkMax = 256
	// sliceBytes bounds what one compaction transaction writes, so that
	// commits wait at most a few milliseconds behind it.
	sliceBytes = 256 << 10
	// deleteStep bounds the head rows one transaction deletes.
	deleteStep = 5_000
)

// compactRun holds the statements one compaction run reads with.
type compactRun struct {
	openChunk, rollups, dayChunks *sql.Stmt
}

func (s *Store) newCompactRun(ctx context.Context) (*compactRun, error) {
	run := &compactRun{}
	for _, p := range []struct {
		st **sql.Stmt
		q  string
	}{
		{&run.openChunk, `SELECT id, n, data FROM chunks WHERE meter = ? AND day = ? ORDER BY seq_first DESC LIMIT 1`},
		{&run.rollups, `SELECT hour, seq_max, data FROM rollups WHERE meter = ? AND hour >= ? AND hour <= ?`},
		{&run.dayChunks, `SELECT id, data FROM chunks WHERE meter = ? AND day = ? AND t_max >= ? AND t_min <= ?`},
	} {
		st, err := s.r.PrepareContext(ctx, p.q)
		if err != nil {
			run.close()
			return nil, fmt.Errorf("compact: prepare: %w", err)
		}
		*p.st = st
	}
	return run, nil
}

func (run *compactRun) close() {
	for _, st := range []*sql.Stmt{run.openChunk, run.rollups, run.dayChunks} {
		if st != nil {
			st.Close()
		}
	}
}

func (s *Store) compactLoop() {
	defer close(s.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stop
		cancel()
	}()
	tick := time.NewTicker(min(s.opt.CompactAge/4, 10*time.Second))
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.kick:
		case <-tick.C:
			s.head.mu.RLock()
			since := s.head.since
			s.head.mu.RUnlock()
			if since == 0 || time.Since(time.UnixMilli(since)) < s.opt.CompactAge {
				continue
			}
		}
		if s.opt.ManualCompaction {
			continue
		}
		if err := s.compact(ctx, true); err != nil && ctx.Err() == nil {
			s.opt.Logf("store: compaction: %v", err)
			s.stats.mu.Lock()
			s.stats.err = err.Error()
			s.stats.mu.Unlock()
		}
	}
}

// Compact implements store.Compacter: it moves every reading committed
// before the call from the head into chunks and rollups. It runs in bounded
// transactions, so commits continue meanwhile.
func (s *Store) Compact(ctx context.Context) error { return s.compact(ctx, false) }

// pacer spreads background compaction out: after each piece of work it
// rests twice as long as the work took, as long as the head is below
// 2 × CompactRows. A compaction at full speed takes a whole CPU for a few
// hundred milliseconds at 20,000 readings/s; every commit and ledger append
// meanwhile waits for the other CPU (bench ingest showed p99 spikes of
// 0.4-0.7 s every compaction). A head that grows past the mark is compacted
// flat out, so pacing never reaches the backpressure limit.
type pacer struct {
	s     *Store
	on    bool
	since time.Time
}

const (
	paceRest  = 2                    // rest per unit of work
	paceSlice = 5 * time.Millisecond // work between rests
)

func (p *pacer) step(ctx context.Context) {
	if !p.on {
		return
	}
	work := time.Since(p.since)
	if work < paceSlice {
		return
	}
	p.s.head.mu.RLock()
	rows := p.s.head.rows
	p.s.head.mu.RUnlock()
	if rows < 2*p.s.opt.CompactRows {
		t := time.NewTimer(paceRest * work)
		select {
		case <-t.C:
		case <-ctx.Done(): // closing: the next statement returns the error
			t.Stop()
		}
	}
	p.since = time.Now()
}

func (s *Store) compact(ctx context.Context, paced bool) error {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	if s.closed.Load() {
		return store.ErrClosed
	}
	start := time.Now()
	s.head.mu.RLock()
	through, n := s.head.maxRid, s.head.rows
	s.head.mu.RUnlock()
	if n == 0 {
		return s.backfillStep(ctx, backfillPoints)
	}
	recs, lo := s.head.through(through)
	for mid, rs := range recs {
		// Left by a run that crashed between writing chunks and deleting
		// the head rows.
		if done, ok := s.compacted[mid]; ok && rs[0].Seq <= done {
			k := 0
			for k < len(rs) && rs[k].Seq <= done {
				k++
			}
			if rs = rs[k:]; len(rs) == 0 {
				delete(recs, mid)
			} else {
				recs[mid] = rs
			}
		}
	}
	mids := make([]int64, 0, len(recs))
	for mid := range recs {
		mids = append(mids, mid)
	}
	slices.Sort(mids)
	defs, err := s.channelDefs(ctx, mids)
	if err != nil {
		return err
	}
	run, err := s.newCompactRun(ctx)
	if err != nil {
		return err
	}
	defer run.close()
	var (
		slice []*meterWork
		bytes int
		moved int
	)
	pace := &pacer{s: s, on: paced, since: time.Now()}
	touched := map[string][2]int64{} // points whose consumption totals to refresh, and the times
	for _, mid := range mids {
		pace.step(ctx)
		w, err := s.prepareMeter(ctx, run, mid, recs[mid], defs[mid])
		if err != nil {
			return fmt.Errorf("compact meter %d: %w", mid, err)
		}
		slice = append(slice, w)
		bytes += w.bytes
		moved += len(recs[mid])
		if bytes >= sliceBytes {
			if err := s.applySlice(ctx, slice, touched); err != nil {
				return err
			}
			slice, bytes = slice[:0], 0
			pace.step(ctx)
		}
	}
	if err := s.applySlice(ctx, slice, touched); err != nil {
		return err
	}
	for from := lo - 1; from < through; from += deleteStep {
		to := min(from+deleteStep, through)
		err := s.withWrite(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM hot WHERE rid > ? AND rid <= ?`, from, to)
			return err
		})
		if err != nil {
			return fmt.Errorf("compact: delete head rows: %w", err)
		}
		pace.step(ctx)
	}
	s.head.dropThrough(through)
	s.head.mu.Lock()
	if s.head.rows > 0 {
		s.head.since = start.UnixMilli()
	}
	s.head.mu.Unlock()
	s.stats.mu.Lock()
	s.stats.runs++
	s.stats.rows += uint64(moved)
	s.stats.last = time.Since(start)
	s.stats.err = ""
	close(s.stats.drained)
	s.stats.drained = make(chan struct{})
	s.stats.mu.Unlock()
	// The totals the new hours dropped or closed; a failure leaves them to
	// be read from the hours, and to the next run.
	if err := s.refreshTotals(ctx, touched); err != nil {
		return fmt.Errorf("compact: consumption totals: %w", err)
	}
	if err := s.backfillStep(ctx, backfillPoints); err != nil {
		return fmt.Errorf("compact: consumption totals back-fill: %w", err)
	}
	return nil
}

// channelDefs returns the channel definitions by channel number of the
// meters mids: those of a compaction run, not the registry's every meter
// (a province's hundreds of thousands, each run).
func (s *Store) channelDefs(ctx context.Context, mids []int64) (map[int64]map[uint32]chanDef, error) {
	if err := s.loadPoints(ctx); err != nil {
		return nil, err
	}
	s.reg.RLock()
	defer s.reg.RUnlock()
	out := make(map[int64]map[uint32]chanDef, len(mids))
	for _, mid := range mids {
		mi := s.byMid[mid]
		if mi == nil {
			continue
		}
		m := map[uint32]chanDef{}
		if pi := s.pointCache[mi.point]; pi != nil {
			for _, c := range pi.channels {
				if cid, ok := s.chanID[c.Name]; ok {
					m[cid] = defOf(c)
				}
			}
		}
		out[mid] = m
	}
	return out, nil
}

func lookupDef(defs map[uint32]chanDef, cid uint32) chanDef {
	if d, ok := defs[cid]; ok {
		return d
	}
	return rateDef
}

// chunkWrite is one chunk row to insert (id 0) or replace.
type chunkWrite struct {
	id, day           int64
	seqFirst, seqLast uint64
	tMin, tMax        int64
	n                 int
	data              []byte
}

type rollupWrite struct {
	hour   int64
	seqMax uint64
	data   []byte
}

// meterWork is everything one meter's compaction writes.
type meterWork struct {
	mid     int64
	chunks  []chunkWrite
	rollups []rollupWrite
	last    chunk.Record
	bytes   int
	// dayRecs holds, per day touched, the records of the rewritten open
	// chunk plus the new ones; replaced lists the chunk rows being rewritten.
	dayRecs  map[int64][]chunk.Record
	replaced map[int64]bool
	// point and tLo, tHi: the meter's point and the device times of the
	// records, for the consumption totals they change (totals.go).
	point    string
	tLo, tHi int64
}

// prepareMeter builds one meter's chunk and rollup writes. It reads through
// the read pool: only compaction writes chunks and rollups, and it runs
// alone.
func (s *Store) prepareMeter(ctx context.Context, run *compactRun, mid int64, recs []chunk.Record, defs map[uint32]chanDef) (*meterWork, error) {
	w := &meterWork{mid: mid, last: recs[len(recs)-1], dayRecs: map[int64][]chunk.Record{}, replaced: map[int64]bool{}, tLo: recs[0].T, tHi: recs[0].T}
	for _, r := range recs {
		w.tLo, w.tHi = min(w.tLo, r.T), max(w.tHi, r.T)
	}
	s.reg.RLock()
	if mi := s.byMid[mid]; mi != nil {
		w.point = mi.point
	}
	s.reg.RUnlock()
	byDay := map[int64][]chunk.Record{}
	var days []int64
	for _, r := range recs {
		d := floorDiv(r.T, dayMs)
		if _, ok := byDay[d]; !ok {
			days = append(days, d)
		}
		byDay[d] = append(byDay[d], r)
	}
	slices.Sort(days)
	for _, d := range days {
		var (
			id   int64
			n    int
			data []byte
		)
		err := run.openChunk.QueryRowContext(ctx, mid, d).Scan(&id, &n, &data)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			id = 0
		case err != nil:
			return nil, fmt.Errorf("read open chunk of day %d: %w", d, err)
		}
		var all []chunk.Record
		// Rewrite the day's open chunk only while that costs at most a few
		// times the new readings: with many meters each compaction brings
		// a meter only a few readings, and rewriting a full chunk for them
		// would multiply the bytes written.
		if id != 0 && n < chunkMax && n <= max(4*len(byDay[d]), 64) {
			if all, err = chunk.Decode(data); err != nil {
				return nil, fmt.Errorf("open chunk %d: %w", id, err)
			}
			w.replaced[id] = true
		} else {
			id = 0
		}
		all = mergeBySeq(all, byDay[d])
		w.dayRecs[d] = all
		for i := 0; i < len(all); i += chunkMax {
			piece := all[i:min(i+chunkMax, len(all))]
			data, err := chunk.Encode(make([]byte, 0, 16+56*len(piece)), piece)
			if err != nil {
				return nil, fmt.Errorf("encode chunk of day %d: %w", d, err)
			}
			cw := chunkWrite{id: id, day: d, seqFirst: piece[0].Seq, seqLast: piece[len(piece)-1].Seq, n: len(piece), data: data, tMin: piece[0].T, tMax: piece[0].T}
			for _, r := range piece {
				cw.tMin, cw.tMax = min(cw.tMin, r.T), max(cw.tMax, r.T)
			}
			w.chunks = append(w.chunks, cw)
			w.bytes += len(data)
			id = 0
		}
	}
	if err := s.prepareRollups(ctx, run, w, recs, defs); err != nil {
		return nil, err
	}
	return w, nil
}

// mergeBySeq appends recs to base, both in seq order, dropping records whose
// seq base already holds.
func mergeBySeq(base, recs []chunk.Record) []chunk.Record {
	if len(base) == 0 {
		return recs
	}
	all := append(make([]chunk.Record, 0, len(base)+len(recs)), base...)
	all = append(all, recs...)
	if recs[0].Seq > base[len(base)-1].Seq {
		return all
	}
	slices.SortStableFunc(all, func(a, b chunk.Record) int {
		switch {
		case a.Seq < b.Seq:
			return -1
		case a.Seq > b.Seq:
			return 1
		}
		return 0
	})
	return slices.CompactFunc(all, func(a, b chunk.Record) bool { return a.Seq == b.Seq })
}

// hourPoint is one value with its effective hour and channel.
type hourPoint struct {
	h   int64
	cid uint32
	p   aggregate.Point
}

// hourPoints lists the records' values (of hours keep accepts, if set)
// sorted by effective hour, channel, time and seq.
func hourPoints(recs []chunk.Record, defs map[uint32]chanDef, keep func(h int64) bool) []hourPoint {
	n := 0
	for i := range recs {
		n += len(recs[i].Values)
	}
	out := make([]hourPoint, 0, n)
	for i := range recs {
		r := &recs[i]
		for _, v := range r.Values {
			te := aggregate.EffectiveTime(lookupDef(defs, v.Channel).kind, r.T)
			h := floorDiv(te, hourMs)
			if keep == nil || keep(h) {
				out = append(out, hourPoint{h: h, cid: v.Channel, p: aggregate.Point{T: te, V: v.V, Seq: r.Seq}})
			}
		}
	}
	slices.SortFunc(out, func(a, b hourPoint) int {
		if c := cmp.Compare(a.h, b.h); c != 0 {
			return c
		}
		if c := cmp.Compare(a.cid, b.cid); c != 0 {
			return c
		}
		if c := cmp.Compare(a.p.T, b.p.T); c != 0 {
			return c
		}
		return cmp.Compare(a.p.Seq, b.p.Seq)
	})
	return out
}

// runs splits sorted hour points into runs of equal key.
func runs(hps []hourPoint, same func(a, b *hourPoint) bool, fn func(run []hourPoint) error) error {
	for i := 0; i < len(hps); {
		j := i + 1
		for j < len(hps) && same(&hps[i], &hps[j]) {
			j++
		}
		if err := fn(hps[i:j]); err != nil {
			return err
		}
		i = j
	}
	return nil
}

func sameHour(a, b *hourPoint) bool    { return a.h == b.h }
func sameChannel(a, b *hourPoint) bool { return a.cid == b.cid }

// channelSummaries summarises one hour's points channel by channel.
func channelSummaries(hour []hourPoint, defs map[uint32]chanDef, fn func(cid uint32, def chanDef, first int64, s aggregate.Summary) error) error {
	var ps []aggregate.Point
	return runs(hour, sameChannel, func(run []hourPoint) error {
		ps = ps[:0]
		for i := range run {
			ps = append(ps, run[i].p)
		}
		ps = aggregate.SortDedup(ps)
		def := lookupDef(defs, run[0].cid)
		return fn(run[0].cid, def, ps[0].T, aggregate.Summarize(ps, def.ctr))
	})
}

// errRebuild says that an hour's summary cannot be appended to.
var errRebuild = errors.New("rebuild the hour")

// prepareRollups updates the summaries of every hour the new records touch:
// appending to the stored summary when the new points all come after it
// (the usual case), rebuilding the hour from its readings otherwise (late or
// out-of-order data, a redefined channel).
func (s *Store) prepareRollups(ctx context.Context, run *compactRun, w *meterWork, recs []chunk.Record, defs map[uint32]chanDef) error {
	fresh := hourPoints(recs, defs, nil)
	if len(fresh) == 0 {
		return nil
	}
	stored := map[int64]*storedRollup{}
	rows, err := run.rollups.QueryContext(ctx, w.mid, fresh[0].h, fresh[len(fresh)-1].h)
	if err != nil {
		return fmt.Errorf("read rollups: %w", err)
	}
	for rows.Next() {
		var h, seqMax int64
		var data sql.RawBytes
		if err := rows.Scan(&h, &seqMax, &data); err != nil {
			rows.Close()
			return fmt.Errorf("read rollups: %w", err)
		}
		es, err := decodeRollup(data, h*hourMs, 0)
		if err != nil {
			rows.Close()
			return fmt.Errorf("rollup of hour %d: %w", h, err)
		}
		stored[h] = &storedRollup{seqMax: seqFrom(seqMax), entries: es}
	}
	if err := closeRows(rows); err != nil {
		return fmt.Errorf("read rollups: %w", err)
	}
	return runs(fresh, sameHour, func(hour []hourPoint) error {
		h := hour[0].h
		var seqMax uint64
		for i := range hour {
			seqMax = max(seqMax, hour[i].p.Seq)
		}
		var es []rollupEntry
		if old := stored[h]; old != nil {
			seqMax = max(seqMax, old.seqMax)
			es = slices.Clone(old.entries)
		}
		err := channelSummaries(hour, defs, func(cid uint32, def chanDef, first int64, sum aggregate.Summary) error {
			e := entryOf(es, cid)
			switch {
			case e == nil:
				es = append(es, rollupEntry{cid: cid, def: def, Summary: sum})
			case e.def != def || first <= e.LastT:
				return errRebuild
			default:
				e.Summary = e.Summary.Append(sum, def.ctr)
			}
			return nil
		})
		if errors.Is(err, errRebuild) {
			es, err = s.rebuildHour(ctx, run, w, h, defs)
		}
		if err != nil {
			return err
		}
		slices.SortFunc(es, func(a, b rollupEntry) int { return cmp.Compare(a.cid, b.cid) })
		data := encodeRollup(nil, h*hourMs, es)
		w.rollups = append(w.rollups, rollupWrite{hour: h, seqMax: seqMax, data: data})
		w.bytes += len(data)
		return nil
	})
}

type storedRollup struct {
	seqMax  uint64
	entries []rollupEntry
}

// rebuildHour summarises an hour from all of the meter's compacted readings
// in it, this run's included.
func (s *Store) rebuildHour(ctx context.Context, run *compactRun, w *meterWork, h int64, defs map[uint32]chanDef) ([]rollupEntry, error) {
	// An interval total stamped at the next hour's first instant belongs to
	// this hour, so read one millisecond past its end.
	from, to := h*hourMs, (h+1)*hourMs
	var recs []chunk.Record
	for d := floorDiv(from, dayMs); d <= floorDiv(to, dayMs); d++ {
		recs = append(recs, w.dayRecs[d]...)
		rows, err := run.dayChunks.QueryContext(ctx, w.mid, d, from, to)
		if err != nil {
			return nil, fmt.Errorf("rebuild %s: %w", fmtHour(h), err)
		}
		for rows.Next() {
			var id int64
			var data sql.RawBytes
			if err := rows.Scan(&id, &data); err != nil {
				rows.Close()
				return nil, fmt.Errorf("rebuild %s: %w", fmtHour(h), err)
			}
			if w.replaced[id] {
				continue
			}
			rs, err := chunk.Decode(data)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("rebuild %s: chunk %d: %w", fmtHour(h), id, err)
			}
			recs = append(recs, rs...)
		}
		if err := closeRows(rows); err != nil {
			return nil, fmt.Errorf("rebuild %s: %w", fmtHour(h), err)
		}
	}
	var es []rollupEntry
	err := channelSummaries(hourPoints(recs, defs, func(x int64) bool { return x == h }), defs, func(cid uint32, def chanDef, _ int64, sum aggregate.Summary) error {
		es = append(es, rollupEntry{cid: cid, def: def, Summary: sum})
		return nil
	})
	return es, err
}

// applySlice writes a slice of meters' chunks, rollups and states in one
// transaction.
func (s *Store) applySlice(ctx context.Context, ws []*meterWork, totalsTouched map[string][2]int64) error {
	if len(ws) == 0 {
		return nil
	}
	err := s.withWrite(ctx, func(tx *sql.Tx) error {
		upd, err := tx.PrepareContext(ctx, `UPDATE chunks SET seq_first = ?, seq_last = ?, t_min = ?, t_max = ?, n = ?, data = ? WHERE id = ?`)
		if err != nil {
			return err
		}
		defer upd.Close()
		ins, err := tx.PrepareContext(ctx, `INSERT INTO chunks(meter, day, seq_first, seq_last, t_min, t_max, n, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		rup, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO rollups(meter, hour, seq_max, data) VALUES (?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer rup.Close()
		for _, w := range ws {
			for _, c := range w.chunks {
				if c.id != 0 {
					_, err = upd.ExecContext(ctx, seqKey(c.seqFirst), seqKey(c.seqLast), c.tMin, c.tMax, c.n, c.data, c.id)
				} else {
					_, err = ins.ExecContext(ctx, w.mid, c.day, seqKey(c.seqFirst), seqKey(c.seqLast), c.tMin, c.tMax, c.n, c.data)
				}
				if err != nil {
					return fmt.Errorf("write chunk of meter %d day %d: %w", w.mid, c.day, err)
				}
			}
			for _, r := range w.rollups {
				if _, err := rup.ExecContext(ctx, w.mid, r.hour, seqKey(r.seqMax), r.data); err != nil {
					return fmt.Errorf("write rollup of meter %d: %w", w.mid, err)
				}
			}
			if w.point != "" {
				lo, err := dropTotals(ctx, tx, w.point, w.tLo, w.tHi)
				if err != nil {
					return err
				}
				r, ok := totalsTouched[w.point]
				if !ok {
					r = [2]int64{lo, w.tHi}
				}
				totalsTouched[w.point] = [2]int64{min(r[0], lo), max(r[1], w.tHi)}
			}
			l := &w.last
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO meter_state(meter, seq, hash, idx, t) VALUES (?, ?, ?, ?, ?)`,
				w.mid, seqKey(l.Seq), l.Hash[:], int64(l.Index), l.T); err != nil {
				return fmt.Errorf("write state of meter %d: %w", w.mid, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	for _, w := range ws {
		s.compacted[w.mid] = w.last.Seq
	}
	return nil
}
