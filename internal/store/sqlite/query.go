package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/aggregate"
	"github.com/shuixiao/shuixiao/internal/store/chunk"
	"github.com/shuixiao/shuixiao/meter"
)

// readTx is one consistent view for a query: the head entries of the meters
// involved, snapshotted before the read transaction's own snapshot (see head).
type readTx struct {
	s   *Store
	ctx context.Context
	tx  *sql.Tx
	hot map[int64][]headRec
	dec chunk.Decoder
	rec chunk.Record

	stmts map[string]*sql.Stmt // prepared on first use, reused across series
}

// Queries a read transaction runs many times.
const (
	qChunkRange   = `SELECT data FROM chunks WHERE meter = ? AND day >= ? AND day <= ? AND t_max >= ? AND t_min <= ? ORDER BY day, seq_first`
	qRollupRange  = `SELECT hour, seq_max, data FROM rollups WHERE meter = ? AND hour >= ? AND hour < ?`
	qRollupBefore = `SELECT hour, data FROM rollups WHERE meter = ? AND hour < ? ORDER BY hour DESC`
	qRollupAfter  = `SELECT hour, data FROM rollups WHERE meter = ? AND hour >= ? ORDER BY hour`
)

// query runs one of the queries above through a statement prepared once
// per transaction: parsing SQL costs more than running these lookups.
func (rd *readTx) query(q string, args ...any) (*sql.Rows, error) {
	st, ok := rd.stmts[q]
	if !ok {
		var err error
		if st, err = rd.tx.PrepareContext(rd.ctx, q); err != nil {
			return nil, err
		}
		if rd.stmts == nil {
			rd.stmts = map[string]*sql.Stmt{}
		}
		rd.stmts[q] = st
	}
	return st.QueryContext(rd.ctx, args...)
}

func (s *Store) beginRead(ctx context.Context, mids []int64) (*readTx, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	hot := s.head.snapshot(mids)
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("begin read: %w", err)
	}
	return &readTx{s: s, ctx: ctx, tx: tx, hot: hot}, nil
}

func (rd *readTx) close() {
	for _, st := range rd.stmts {
		st.Close()
	}
	rd.tx.Rollback()
}

// chunkRecords calls fn for every compacted record of meter mid with device
// time in [a, b]. The record passed is reused.
func (rd *readTx) chunkRecords(mid, a, b int64, fn func(*chunk.Record)) error {
	if a > b {
		return nil
	}
	rows, err := rd.query(qChunkRange, mid, floorDiv(a, dayMs), floorDiv(b, dayMs), a, b)
	if err != nil {
		return fmt.Errorf("read chunks: %w", err)
	}
	defer rows.Close()
	var data sql.RawBytes // decoded before the next row
	for rows.Next() {
		if err := rows.Scan(&data); err != nil {
			return fmt.Errorf("read chunks: %w", err)
		}
		if err := rd.dec.Reset(data); err != nil {
			return fmt.Errorf("meter %d: %w", mid, err)
		}
		for rd.dec.Next(&rd.rec) {
			if rd.rec.T >= a && rd.rec.T <= b {
				fn(&rd.rec)
			}
		}
		if err := rd.dec.Err(); err != nil {
			return fmt.Errorf("meter %d: %w", mid, err)
		}
	}
	return rows.Err()
}

// hotRecords calls fn for each of the head readings.
func (rd *readTx) hotRecords(rs []headRec, fn func(*chunk.Record)) error {
	for i := range rs {
		fn(&rs[i].rec)
	}
	return nil
}

func valueOf(r *chunk.Record, cid uint32) (float64, bool) {
	for _, v := range r.Values {
		if v.Channel == cid {
			return v.V, true
		}
	}
	return 0, false
}

// target is a resolved series: its meters and channel.
type target struct {
	series store.Series
	mids   []int64
	cid    uint32
	known  bool // the channel name has been seen in some reading
	def    chanDef
}

func (s *Store) resolve(ctx context.Context, ser store.Series) (target, error) {
	if err := ser.Validate(); err != nil {
		return target{}, err
	}
	if err := s.loadPoints(ctx); err != nil {
		return target{}, err
	}
	t := target{series: ser, def: rateDef}
	s.reg.RLock()
	defer s.reg.RUnlock()
	pointID := ser.Point
	if ser.Meter != "" {
		mi, ok := s.meters[ser.Meter]
		if !ok {
			return target{}, fmt.Errorf("series %s: meter %w", ser, store.ErrNotFound)
		}
		t.mids, pointID = []int64{mi.mid}, mi.point
	}
	pi, ok := s.pointCache[pointID]
	if !ok {
		return target{}, fmt.Errorf("series %s: point %s: %w", ser, pointID, store.ErrNotFound)
	}
	for _, c := range pi.channels {
		if c.Name == ser.Channel {
			t.def = defOf(c)
		}
	}
	if ser.Point != "" {
		t.mids = slices.Clone(pi.mids)
	}
	t.cid, t.known = s.chanID[ser.Channel]
	return t, nil
}

func checkRange(from, to time.Time) error {
	if from.IsZero() || to.IsZero() || !to.After(from) {
		return fmt.Errorf("%w: need from < to", store.ErrInvalid)
	}
	return nil
}

func (s *Store) loc(l *time.Location) *time.Location {
	if l != nil {
		return l
	}
	return s.opt.Location
}

// Aggregate implements store.SeriesReader.
func (s *Store) Aggregate(ctx context.Context, q store.AggregateQuery) ([]store.Bucket, error) {
	if err := checkRange(q.From, q.To); err != nil {
		return nil, fmt.Errorf("aggregate %s: %w", q.Series, err)
	}
	if !q.Interval.Valid() {
		return nil, fmt.Errorf("aggregate %s: %w: interval %q", q.Series, store.ErrInvalid, q.Interval)
	}
	t, err := s.resolve(ctx, q.Series)
	if err != nil {
		return nil, fmt.Errorf("aggregate: %w", err)
	}
	if err := aggregate.CheckFn(t.def.kind, q.Fn); err != nil {
		return nil, fmt.Errorf("aggregate %s: %w", q.Series, err)
	}
	rd, err := s.beginRead(ctx, t.mids)
	if err != nil {
		return nil, err
	}
	defer rd.close()
	if q.Interval == store.Raw {
		return rd.raw(t, q.From.UnixMilli(), q.To.UnixMilli(), q.Fn, s.loc(q.Location))
	}
	g, err := aggregate.NewGrid(q.From, q.To, q.Interval, s.loc(q.Location))
	if err != nil {
		return nil, fmt.Errorf("aggregate %s: %w", q.Series, err)
	}
	accs := make([]aggregate.Acc, g.Len())
	if err := rd.accumulate(accs, g, t, q.Interval != store.Min15, q.Fn == store.Delta); err != nil {
		return nil, fmt.Errorf("aggregate %s: %w", q.Series, err)
	}
	return aggregate.Finalize(accs, g, t.def.kind, q.Fn)
}

// Consumption implements store.SeriesReader.
func (s *Store) Consumption(ctx context.Context, q store.ConsumptionQuery) ([]store.SeriesBuckets, error) {
	if err := checkRange(q.From, q.To); err != nil {
		return nil, fmt.Errorf("consumption: %w", err)
	}
	if !q.Interval.Valid() || q.Interval == store.Raw {
		return nil, fmt.Errorf("consumption: %w: interval %q", store.ErrInvalid, q.Interval)
	}
	g, err := aggregate.NewGrid(q.From, q.To, q.Interval, s.loc(q.Location))
	if err != nil {
		return nil, fmt.Errorf("consumption: %w", err)
	}
	ts := make([]target, len(q.Series))
	var mids []int64
	for i, ser := range q.Series {
		if ts[i], err = s.resolve(ctx, ser); err != nil {
			return nil, fmt.Errorf("consumption: %w", err)
		}
		if err := aggregate.CheckFn(ts[i].def.kind, store.Delta); err != nil {
			return nil, fmt.Errorf("consumption %s: %w", ser, err)
		}
		mids = append(mids, ts[i].mids...)
	}
	rd, err := s.beginRead(ctx, mids)
	if err != nil {
		return nil, err
	}
	defer rd.close()
	out := make([]store.SeriesBuckets, len(ts))
	accs := make([]aggregate.Acc, g.Len())
	for i, t := range ts {
		clear(accs)
		if err := rd.accumulate(accs, g, t, q.Interval != store.Min15, true); err != nil {
			return nil, fmt.Errorf("consumption %s: %w", t.series, err)
		}
		bs, err := aggregate.Finalize(accs, g, t.def.kind, store.Delta)
		if err != nil {
			return nil, fmt.Errorf("consumption %s: %w", t.series, err)
		}
		out[i] = store.SeriesBuckets{Series: t.series, Buckets: bs}
	}
	return out, nil
}

// accumulate adds every meter of t to the grid's accumulators.
func (rd *readTx) accumulate(accs []aggregate.Acc, g aggregate.Grid, t target, useRollups, delta bool) error {
	if !t.known {
		return nil
	}
	for _, mid := range t.mids {
		items, err := rd.items(mid, t.cid, t.def, g, useRollups, delta && t.def.kind == meter.Total)
		if err != nil {
			return err
		}
		aggregate.Accumulate(accs, g, items, t.def.kind, t.def.ctr)
	}
	return nil
}

// items returns one meter's channel over the grid's hours as summaries
// (compacted hours that lie inside one bucket and have no conflicting head
// readings) and single points (everything else), in time order; with
// neighbours, also the nearest point before and after, for consumption.
func (rd *readTx) items(mid int64, cid uint32, def chanDef, g aggregate.Grid, useRollups, neighbours bool) ([]aggregate.Summary, error) {
	h0, h1 := floorDiv(g.Start(), hourMs), ceilDiv(g.End(), hourMs)
	lo, hi := h0*hourMs, h1*hourMs
	eff := func(t int64) int64 { return aggregate.EffectiveTime(def.kind, t) }

	var hot []headRec
	hotByHour := map[int64][]headRec{}
	for _, e := range rd.hot[mid] {
		if te := eff(e.rec.T); te >= lo && te < hi {
			hot = append(hot, e)
			hotByHour[floorDiv(te, hourMs)] = append(hotByHour[floorDiv(te, hourMs)], e)
		}
	}
	var items []aggregate.Summary
	raw := map[int64]bool{}
	if useRollups {
		type summary struct {
			h int64
			e rollupEntry
		}
		var sums []summary
		rows, err := rd.query(qRollupRange, mid, h0, h1)
		if err != nil {
			return nil, fmt.Errorf("read rollups: %w", err)
		}
		for rows.Next() {
			var h, seqMax int64
			var data sql.RawBytes
			if err := rows.Scan(&h, &seqMax, &data); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read rollups: %w", err)
			}
			if !g.Holds(h*hourMs, (h+1)*hourMs-1) {
				raw[h] = true
				continue
			}
			es, err := decodeRollup(data, h*hourMs, cid)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("meter %d %s: %w", mid, fmtHour(h), err)
			}
			if len(es) == 0 {
				continue // no compacted value of this channel in the hour
			}
			e := es[0]
			if e.def != def {
				// Built under another definition. A kind change can move a
				// value stamped on the hour into the neighbouring hour, so
				// read those from the readings too.
				raw[h] = true
				if (e.def.kind == meter.Interval) != (def.kind == meter.Interval) {
					raw[h-1], raw[h+1] = true, true
				}
				continue
			}
			for _, he := range hotByHour[h] {
				if he.rec.Seq <= seqFrom(seqMax) || eff(he.rec.T) <= e.LastT {
					raw[h] = true // a head reading the summary holds or predates
				}
			}
			sums = append(sums, summary{h, e})
		}
		if err := closeRows(rows); err != nil {
			return nil, fmt.Errorf("read rollups: %w", err)
		}
		for _, x := range sums {
			if !raw[x.h] {
				items = append(items, x.e.Summary)
			}
		}
	}

	var pts []aggregate.Point
	collect := func(r *chunk.Record) {
		te := eff(r.T)
		if te < lo || te >= hi || useRollups && !raw[floorDiv(te, hourMs)] {
			return
		}
		if v, ok := valueOf(r, cid); ok {
			pts = append(pts, aggregate.Point{T: te, V: v, Seq: r.Seq})
		}
	}
	// An interval total stamped at a range's end belongs inside it: read
	// device times up to and including hi.
	if !useRollups {
		if err := rd.chunkRecords(mid, lo, hi, collect); err != nil {
			return nil, err
		}
	} else {
		hours := make([]int64, 0, len(raw))
		for h := range raw {
			hours = append(hours, h)
		}
		slices.Sort(hours)
		for i := 0; i < len(hours); {
			j := i
			for j+1 < len(hours) && hours[j+1] == hours[j]+1 {
				j++
			}
			if err := rd.chunkRecords(mid, hours[i]*hourMs, (hours[j]+1)*hourMs, collect); err != nil {
				return nil, err
			}
			i = j + 1
		}
	}
	err := rd.hotRecords(hot, func(r *chunk.Record) {
		if te := eff(r.T); te >= lo && te < hi {
			if v, ok := valueOf(r, cid); ok {
				pts = append(pts, aggregate.Point{T: te, V: v, Seq: r.Seq})
			}
		}
	})
	if err != nil {
		return nil, err
	}
	for _, p := range aggregate.SortDedup(pts) {
		items = append(items, aggregate.Single(p))
	}
	slices.SortFunc(items, func(a, b aggregate.Summary) int { return cmp.Compare(a.FirstT, b.FirstT) })
	if neighbours {
		if p, ok, err := rd.neighbour(mid, cid, def, lo, true); err != nil {
			return nil, err
		} else if ok {
			items = slices.Insert(items, 0, aggregate.Single(p))
		}
		if p, ok, err := rd.neighbour(mid, cid, def, hi, false); err != nil {
			return nil, err
		} else if ok {
			items = append(items, aggregate.Single(p))
		}
	}
	return items, nil
}

// neighbour finds the meter's nearest value of the channel before edge
// (effective time < edge) or at or after it.
func (rd *readTx) neighbour(mid int64, cid uint32, def chanDef, edge int64, before bool) (aggregate.Point, bool, error) {
	eff := func(t int64) int64 { return aggregate.EffectiveTime(def.kind, t) }
	var best aggregate.Point
	found := false
	consider := func(p aggregate.Point) {
		if !found || before && p.T > best.T || !before && p.T < best.T {
			best, found = p, true
		}
	}
	// Compacted readings in the partial hour at the edge, then the nearest
	// hour summary holding the channel. Neighbours serve consumption of
	// running totals, whose effective time is the device time.
	var a, b, hourBound int64
	q := qRollupAfter
	if before {
		hourBound = floorDiv(edge, hourMs)
		a, b = hourBound*hourMs, edge-1
		q = qRollupBefore
	} else {
		hourBound = ceilDiv(edge, hourMs)
		a, b = edge, hourBound*hourMs-1
	}
	err := rd.chunkRecords(mid, a, b, func(r *chunk.Record) {
		if v, ok := valueOf(r, cid); ok {
			consider(aggregate.Point{T: eff(r.T), V: v, Seq: r.Seq})
		}
	})
	if err != nil {
		return best, false, err
	}
	if !found {
		rows, err := rd.query(q, mid, hourBound)
		if err != nil {
			return best, false, fmt.Errorf("read rollups: %w", err)
		}
		for rows.Next() {
			var h int64
			var data sql.RawBytes
			if err := rows.Scan(&h, &data); err != nil {
				rows.Close()
				return best, false, fmt.Errorf("read rollups: %w", err)
			}
			es, err := decodeRollup(data, h*hourMs, cid)
			if err != nil {
				rows.Close()
				return best, false, fmt.Errorf("meter %d %s: %w", mid, fmtHour(h), err)
			}
			if len(es) > 0 {
				if before {
					consider(aggregate.Point{T: es[0].LastT, V: es[0].Last})
				} else {
					consider(aggregate.Point{T: es[0].FirstT, V: es[0].First})
				}
				break
			}
		}
		if err := closeRows(rows); err != nil {
			return best, false, fmt.Errorf("read rollups: %w", err)
		}
	}
	// Head readings: nearest first until one holds the channel.
	var cand []headRec
	for _, e := range rd.hot[mid] {
		if te := eff(e.rec.T); before && te < edge || !before && te >= edge {
			cand = append(cand, e)
		}
	}
	slices.SortFunc(cand, func(x, y headRec) int {
		if before {
			return cmp.Compare(y.rec.T, x.rec.T)
		}
		return cmp.Compare(x.rec.T, y.rec.T)
	})
	for _, e := range cand {
		if found && (before && eff(e.rec.T) <= best.T || !before && eff(e.rec.T) >= best.T) {
			break
		}
		var hit bool
		err := rd.hotRecords([]headRec{e}, func(r *chunk.Record) {
			if v, ok := valueOf(r, cid); ok {
				consider(aggregate.Point{T: eff(r.T), V: v, Seq: r.Seq})
				hit = true
			}
		})
		if err != nil {
			return best, false, err
		}
		if hit {
			break
		}
	}
	return best, found, nil
}

// raw returns one bucket per reading of the series in [from, to).
func (rd *readTx) raw(t target, from, to int64, fn store.Fn, loc *time.Location) ([]store.Bucket, error) {
	if !t.known {
		return nil, nil
	}
	var pts []aggregate.RawPoint
	for k, mid := range t.mids {
		var ps []aggregate.Point
		collect := func(r *chunk.Record) {
			if r.T >= from && r.T < to {
				if v, ok := valueOf(r, t.cid); ok {
					ps = append(ps, aggregate.Point{T: r.T, V: v, Seq: r.Seq})
				}
			}
		}
		if err := rd.chunkRecords(mid, from, to-1, collect); err != nil {
			return nil, err
		}
		var hot []headRec
		for _, e := range rd.hot[mid] {
			if e.rec.T >= from && e.rec.T < to {
				hot = append(hot, e)
			}
		}
		if err := rd.hotRecords(hot, collect); err != nil {
			return nil, err
		}
		if fn == store.Delta && t.def.kind == meter.Total {
			p, ok, err := rd.neighbour(mid, t.cid, t.def, from, true)
			if err != nil {
				return nil, err
			}
			if ok {
				pts = append(pts, aggregate.RawPoint{Meter: k, T: p.T, V: p.V, Seq: p.Seq})
			}
		}
		for _, p := range aggregate.SortDedup(ps) {
			pts = append(pts, aggregate.RawPoint{Meter: k, T: p.T, V: p.V, Seq: p.Seq})
		}
	}
	return aggregate.RawBuckets(pts, from, to, t.def.kind, t.def.ctr, fn, loc)
}

// Readings implements store.SeriesReader.
func (s *Store) Readings(ctx context.Context, q store.ReadingQuery) (store.ReadingPage, error) {
	s.reg.RLock()
	mi, ok := s.meters[q.Meter]
	s.reg.RUnlock()
	if !ok {
		return store.ReadingPage{}, fmt.Errorf("readings of %s: meter %w", q.Meter, store.ErrNotFound)
	}
	from, to := int64(math.MinInt64), int64(math.MaxInt64)
	if !q.From.IsZero() {
		from = q.From.UnixMilli()
	}
	if !q.To.IsZero() {
		to = q.To.UnixMilli()
	}
	type key struct {
		t   int64
		seq uint64
	}
	var after *key
	if q.After != nil {
		after = &key{q.After.Time.UnixMilli(), q.After.Seq}
		if q.Desc {
			to = min(to, after.t+1)
		} else {
			from = max(from, after.t)
		}
	}
	if from >= to {
		return store.ReadingPage{}, nil
	}
	limit := q.PageSize()
	rd, err := s.beginRead(ctx, []int64{mi.mid})
	if err != nil {
		return store.ReadingPage{}, err
	}
	defer rd.close()

	// Head readings of the range, by day.
	hotByDay := map[int64][]chunk.Record{}
	var hot []headRec
	for _, e := range rd.hot[mi.mid] {
		if e.rec.T >= from && e.rec.T < to {
			hot = append(hot, e)
		}
	}
	err = rd.hotRecords(hot, func(r *chunk.Record) {
		d := floorDiv(r.T, dayMs)
		hotByDay[d] = append(hotByDay[d], *r)
	})
	if err != nil {
		return store.ReadingPage{}, fmt.Errorf("readings of %s: %w", q.Meter, err)
	}
	hotDays := make([]int64, 0, len(hotByDay))
	for d := range hotByDay {
		hotDays = append(hotDays, d)
	}
	earlier := func(a, b int64) bool { return a < b != q.Desc && a != b }
	slices.SortFunc(hotDays, func(a, b int64) int {
		if q.Desc {
			return cmp.Compare(b, a)
		}
		return cmp.Compare(a, b)
	})

	var out []chunk.Record
	cmpRec := func(a, b chunk.Record) int {
		c := cmp.Compare(a.T, b.T)
		if c == 0 {
			c = cmp.Compare(a.Seq, b.Seq)
		}
		if q.Desc {
			c = -c
		}
		return c
	}
	emit := func(recs []chunk.Record) {
		slices.SortFunc(recs, cmpRec)
		recs = slices.CompactFunc(recs, func(a, b chunk.Record) bool { return a.Seq == b.Seq })
		for _, r := range recs {
			if r.T < from || r.T >= to {
				continue
			}
			if after != nil && (q.Desc && (r.T > after.t || r.T == after.t && r.Seq >= after.seq) ||
				!q.Desc && (r.T < after.t || r.T == after.t && r.Seq <= after.seq)) {
				continue
			}
			out = append(out, r)
		}
	}
	hi := 0
	finishDay := func(day int64, recs []chunk.Record) {
		for hi < len(hotDays) && earlier(hotDays[hi], day) {
			emit(hotByDay[hotDays[hi]])
			hi++
		}
		if hi < len(hotDays) && hotDays[hi] == day {
			recs = append(recs, hotByDay[day]...)
			hi++
		}
		emit(recs)
	}

	order := "ASC"
	if q.Desc {
		order = "DESC"
	}
	rows, err := rd.tx.QueryContext(ctx, `SELECT day, data FROM chunks WHERE meter = ? AND day >= ? AND day <= ? AND t_max >= ? AND t_min <= ? ORDER BY day `+order+`, seq_first`,
		mi.mid, floorDiv(from, dayMs), floorDiv(to-1, dayMs), from, to-1)
	if err != nil {
		return store.ReadingPage{}, fmt.Errorf("readings of %s: %w", q.Meter, err)
	}
	var (
		cur     int64
		started bool
		buf     []chunk.Record
	)
	for rows.Next() {
		var day int64
		var data []byte
		if err := rows.Scan(&day, &data); err != nil {
			rows.Close()
			return store.ReadingPage{}, fmt.Errorf("readings of %s: %w", q.Meter, err)
		}
		if started && day != cur {
			finishDay(cur, buf)
			buf = buf[:0]
			if len(out) > limit {
				break
			}
		}
		cur, started = day, true
		recs, err := chunk.Decode(data)
		if err != nil {
			rows.Close()
			return store.ReadingPage{}, fmt.Errorf("readings of %s: %w", q.Meter, err)
		}
		buf = append(buf, recs...)
	}
	if err := closeRows(rows); err != nil {
		return store.ReadingPage{}, fmt.Errorf("readings of %s: %w", q.Meter, err)
	}
	if started && len(out) <= limit {
		finishDay(cur, buf)
	}
	for ; hi < len(hotDays) && len(out) <= limit; hi++ {
		emit(hotByDay[hotDays[hi]])
	}

	var page store.ReadingPage
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		page.Next = &store.Cursor{Time: time.UnixMilli(last.T).UTC(), Seq: last.Seq}
	}
	page.Readings = make([]store.Reading, len(out))
	s.reg.RLock()
	for i := range out {
		page.Readings[i] = s.toReadingLocked(mi.id, &out[i])
	}
	s.reg.RUnlock()
	return page, nil
}

// ScanReadings implements store.SeriesReader.
func (s *Store) ScanReadings(ctx context.Context, q store.ReadingQuery, fn func(*store.Reading) error) error {
	return store.ScanPages(ctx, s.Readings, q, fn)
}
