package postgres

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/aggregate"
	"github.com/shuixiao/shuixiao/meter"
)

const hourMs = 3_600_000

// Readings implements store.SeriesReader.
func (s *Store) Readings(ctx context.Context, q store.ReadingQuery) (store.ReadingPage, error) {
	if s.closed.Load() {
		return store.ReadingPage{}, store.ErrClosed
	}
	s.reg.RLock()
	mi, ok := s.meters[q.Meter]
	s.reg.RUnlock()
	if !ok {
		return store.ReadingPage{}, fmt.Errorf("readings of %s: meter %w", q.Meter, store.ErrNotFound)
	}
	from, to := int64(math.MinInt64), int64(math.MaxInt64)
	if !q.From.IsZero() {
		from = ms(q.From)
	}
	if !q.To.IsZero() {
		to = ms(q.To)
	}
	if from >= to {
		return store.ReadingPage{}, nil
	}
	limit := q.PageSize()
	w := &where{}
	w.addAlways("meter = ?", mi.mid)
	w.addAlways("t >= ?", from)
	w.addAlways("t < ?", to)
	order := "t, seq"
	if q.Desc {
		order = "t DESC, seq DESC"
	}
	if q.After != nil {
		op := ">"
		if q.Desc {
			op = "<"
		}
		w.addAlways("(t, seq) "+op+" (?", ms(q.After.Time))
		w.conds[len(w.conds)-1] += ", " + w.next(int64(min(q.After.Seq, math.MaxInt64))) + ")"
	}
	rows, err := s.pool.Query(ctx, `SELECT `+selectReading+` FROM readings`+w.String()+` ORDER BY `+order+` LIMIT `+w.next(limit+1), w.args...)
	if err != nil {
		return store.ReadingPage{}, fmt.Errorf("readings of %s: %w", q.Meter, err)
	}
	rs, err := s.scanReadings(rows, mi.id)
	if err != nil {
		return store.ReadingPage{}, fmt.Errorf("readings of %s: %w", q.Meter, err)
	}
	page := store.ReadingPage{Readings: rs}
	if len(rs) > limit {
		page.Readings = rs[:limit]
		last := rs[limit-1]
		page.Next = &store.Cursor{Time: last.Time, Seq: last.Seq}
	}
	return page, nil
}

// ScanReadings implements store.SeriesReader.
func (s *Store) ScanReadings(ctx context.Context, q store.ReadingQuery, fn func(*store.Reading) error) error {
	return store.ScanPages(ctx, s.Readings, q, fn)
}

// target is a resolved series: its meters, channel number and definition.
type target struct {
	series store.Series
	mids   []int32
	cid    int32
	known  bool // the channel name has been seen in some reading
	kind   meter.Kind
	ctr    aggregate.Counter
}

// resolve finds a series' meters and its channel's kind and rollover (a
// channel the point does not declare is a rate).
func (s *Store) resolve(ctx context.Context, db q, ser store.Series) (target, error) {
	ts, err := s.resolveAll(ctx, db, []store.Series{ser}, nil)
	if err != nil {
		return target{}, err
	}
	return ts[0], nil
}

// resolveAll resolves many series as resolve does one, reading the
// channels of all their points in one query. check, when not nil, is
// applied to each target in turn; the error returned is the one resolving
// and checking the series one after the other would meet first.
func (s *Store) resolveAll(ctx context.Context, db q, series []store.Series, check func(target) error) ([]target, error) {
	ts := make([]target, len(series))
	errs := make([]error, len(series))
	pointOf := make([]string, len(series))
	var ids []string
	seen := map[string]bool{}
	byPoint := false
	s.reg.RLock()
	for i, ser := range series {
		if err := ser.Validate(); err != nil {
			errs[i] = err
			continue
		}
		ts[i] = target{series: ser, kind: meter.Rate}
		pointOf[i] = ser.Point
		if ser.Meter != "" {
			mi, ok := s.meters[ser.Meter]
			if !ok {
				errs[i] = fmt.Errorf("series %s: meter %w", ser, store.ErrNotFound)
				continue
			}
			ts[i].mids, pointOf[i] = []int32{mi.mid}, mi.point
		}
		byPoint = byPoint || ser.Point != ""
		if !seen[pointOf[i]] {
			seen[pointOf[i]] = true
			ids = append(ids, pointOf[i])
		}
	}
	s.reg.RUnlock()
	chans, err := s.pointsChannels(ctx, db, ids)
	if err != nil {
		return nil, err
	}
	var mids map[string][]int32
	s.reg.RLock()
	defer s.reg.RUnlock()
	if byPoint {
		// The points' meters from the directory this process keeps with
		// its own writes (one writer per store), not a query per series;
		// cloned below, read under reg.
		mids = s.pointMids
	}
	for i, ser := range series {
		if errs[i] != nil {
			return nil, errs[i]
		}
		cs, ok := chans[pointOf[i]]
		if !ok {
			return nil, fmt.Errorf("series %s: point %s: %w", ser, pointOf[i], store.ErrNotFound)
		}
		t := &ts[i]
		for _, c := range cs {
			if c.Name == ser.Channel {
				t.kind, t.ctr = c.Kind, aggregate.CounterFor(c)
			}
		}
		if ser.Point != "" {
			t.mids = slices.Clone(mids[ser.Point])
		}
		t.cid, t.known = s.chanID[ser.Channel]
		if check != nil {
			if err := check(*t); err != nil {
				return nil, err
			}
		}
	}
	return ts, nil
}

// readTx is one consistent snapshot for a query.
func (s *Store) readTx(ctx context.Context) (pgx.Tx, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	// Without JIT: a read of many series joins arrays of thousands of
	// them, which the planner costs past jit_above_cost, and compiling
	// took longer than the query itself (150 ms of 780 for 2,000 series).
	// Set in the statement that begins the transaction: no round trip more.
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly,
		BeginQuery: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL jit = off"})
	if err != nil {
		return nil, fmt.Errorf("begin read: %w", err)
	}
	return tx, nil
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
func (s *Store) Aggregate(ctx context.Context, qr store.AggregateQuery) ([]store.Bucket, error) {
	if err := checkRange(qr.From, qr.To); err != nil {
		return nil, fmt.Errorf("aggregate %s: %w", qr.Series, err)
	}
	if !qr.Interval.Valid() {
		return nil, fmt.Errorf("aggregate %s: %w: interval %q", qr.Series, store.ErrInvalid, qr.Interval)
	}
	tx, err := s.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	t, err := s.resolve(ctx, tx, qr.Series)
	if err != nil {
		return nil, fmt.Errorf("aggregate: %w", err)
	}
	if err := aggregate.CheckFn(t.kind, qr.Fn); err != nil {
		return nil, fmt.Errorf("aggregate %s: %w", qr.Series, err)
	}
	if qr.Interval == store.Raw {
		return s.raw(ctx, tx, t, ms(qr.From), ms(qr.To), qr.Fn, s.loc(qr.Location))
	}
	g, err := aggregate.NewGrid(qr.From, qr.To, qr.Interval, s.loc(qr.Location))
	if err != nil {
		return nil, fmt.Errorf("aggregate %s: %w", qr.Series, err)
	}
	accs := make([]aggregate.Acc, g.Len())
	err = s.accumulate(ctx, tx, []target{t}, g, qr.Interval != store.Min15, qr.Fn == store.Delta, func(_ int, add func([]aggregate.Acc)) error {
		add(accs)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("aggregate %s: %w", qr.Series, err)
	}
	return aggregate.Finalize(accs, g, t.kind, qr.Fn)
}

// Consumption implements store.SeriesReader. Every series is read in the
// same few queries (series, hour summaries, readings, neighbours), whatever
// their number.
func (s *Store) Consumption(ctx context.Context, qr store.ConsumptionQuery) ([]store.SeriesBuckets, error) {
	if err := checkRange(qr.From, qr.To); err != nil {
		return nil, fmt.Errorf("consumption: %w", err)
	}
	if !qr.Interval.Valid() || qr.Interval == store.Raw {
		return nil, fmt.Errorf("consumption: %w: interval %q", store.ErrInvalid, qr.Interval)
	}
	g, err := aggregate.NewGrid(qr.From, qr.To, qr.Interval, s.loc(qr.Location))
	if err != nil {
		return nil, fmt.Errorf("consumption: %w", err)
	}
	tx, err := s.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	ts, err := s.resolveAll(ctx, tx, qr.Series, func(t target) error {
		if err := aggregate.CheckFn(t.kind, store.Delta); err != nil {
			return fmt.Errorf("consumption %s: %w", t.series, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("consumption: %w", err)
	}
	out := make([]store.SeriesBuckets, len(ts))
	accs := make([]aggregate.Acc, g.Len())
	err = s.accumulate(ctx, tx, ts, g, qr.Interval != store.Min15, true, func(i int, add func([]aggregate.Acc)) error {
		clear(accs)
		add(accs)
		bs, err := aggregate.Finalize(accs, g, ts[i].kind, store.Delta)
		if err != nil {
			return fmt.Errorf("consumption %s: %w", ts[i].series, err)
		}
		out[i] = store.SeriesBuckets{Series: ts[i].series, Buckets: bs}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// unit is one meter of one target: what the batched reads are keyed by.
type unit struct {
	t   int // index of the target
	mid int32
	cid int32
}

// unitsOf lists the meters of the targets whose channel has been seen.
func unitsOf(ts []target) []unit {
	var us []unit
	for i, t := range ts {
		if !t.known {
			continue
		}
		for _, mid := range t.mids {
			us = append(us, unit{t: i, mid: mid, cid: t.cid})
		}
	}
	return us
}

// accumulate reads every meter of every target over the grid and calls
// each(i, add) for each target in order, add adding target i's meters to
// the accumulators it is given: the hours that lie inside one bucket and
// have a current summary as that summary, the readings of every other hour
// as single points and, for the consumption of a running total, the
// nearest reading on either side. The reads are batched over all targets:
// one query for the summaries, one for the readings, one for the
// neighbours.
func (s *Store) accumulate(ctx context.Context, tx pgx.Tx, ts []target, g aggregate.Grid, useRollups, delta bool, each func(i int, add func([]aggregate.Acc)) error) error {
	us := unitsOf(ts)
	h0, h1 := floorDiv(g.Start(), hourMs), ceilDiv(g.End(), hourMs)
	sums := make([]map[int64]aggregate.Summary, len(us))
	if useRollups {
		var err error
		if sums, err = hourSummaries(ctx, tx, ts, us, h0, h1); err != nil {
			return err
		}
		for _, sm := range sums {
			for h := range sm {
				if !g.Holds(h*hourMs, (h+1)*hourMs-1) {
					delete(sm, h)
				}
			}
		}
	}
	// The other hours from the readings, a run of consecutive hours at a
	// time. An interval total stamped at a run's end belongs inside it:
	// read device times up to and including the run's end, keep effective
	// times inside it.
	var runs []span
	for k := range us {
		if len(sums[k]) == 0 {
			// No summary: one run, without a look-up per hour (a
			// year read by month is 8,760 of them a series).
			if h0 < h1 {
				runs = append(runs, span{unit: k, from: h0 * hourMs, to: h1 * hourMs})
			}
			continue
		}
		for a := h0; a < h1; {
			if _, ok := sums[k][a]; ok {
				a++
				continue
			}
			b := a + 1
			for b < h1 {
				if _, ok := sums[k][b]; ok {
					break
				}
				b++
			}
			runs = append(runs, span{unit: k, from: a * hourMs, to: b * hourMs})
			a = b
		}
	}
	got, err := values(ctx, tx, us, runs, true)
	if err != nil {
		return err
	}
	ps := make([][]aggregate.Point, len(us))
	for r, pts := range got {
		run := runs[r]
		kind := ts[us[run.unit].t].kind
		for _, p := range pts {
			if te := aggregate.EffectiveTime(kind, p.T); te >= run.from && te < run.to {
				p.T = te
				ps[run.unit] = append(ps[run.unit], p)
			}
		}
	}
	var before, after []*aggregate.Point
	if delta {
		var totals []int // the units of running totals
		for k, u := range us {
			if ts[u.t].kind == meter.Total {
				totals = append(totals, k)
			}
		}
		if before, after, err = neighbours(ctx, tx, us, totals, h0*hourMs, h1*hourMs, true); err != nil {
			return err
		}
	}
	k := 0
	for i, t := range ts {
		lo := k
		for k < len(us) && us[k].t == i {
			k++
		}
		err := each(i, func(accs []aggregate.Acc) {
			for u := lo; u < k; u++ {
				items := make([]aggregate.Summary, 0, len(sums[u])+2)
				for _, sm := range sums[u] {
					if sm.N > 0 {
						items = append(items, sm)
					}
				}
				for _, p := range aggregate.SortDedup(ps[u]) {
					items = append(items, aggregate.Single(p))
				}
				slices.SortFunc(items, func(x, y aggregate.Summary) int { return cmp.Compare(x.FirstT, y.FirstT) })
				if before != nil && before[u] != nil {
					items = slices.Insert(items, 0, aggregate.Single(*before[u]))
				}
				if after != nil && after[u] != nil {
					items = append(items, aggregate.Single(*after[u]))
				}
				aggregate.Accumulate(accs, g, items, t.kind, t.ctr)
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// span is a range of device times of one unit, Unix ms.
type span struct {
	unit     int
	from, to int64
}

// values reads, in one query, the values of each span's unit's channel
// with device time in [from, to) — or [from, to] when inclusive — at their
// device times, in time and seq order: out[r] is span r's.
func values(ctx context.Context, tx pgx.Tx, us []unit, spans []span, inclusive bool) ([][]aggregate.Point, error) {
	out := make([][]aggregate.Point, len(spans))
	if len(spans) == 0 {
		return out, nil
	}
	idx := make([]int32, len(spans))
	mids, cids := make([]int32, len(spans)), make([]int32, len(spans))
	froms, tos := make([]int64, len(spans)), make([]int64, len(spans))
	for r, sp := range spans {
		idx[r], mids[r], cids[r], froms[r], tos[r] = int32(r), us[sp.unit].mid, us[sp.unit].cid, sp.from, sp.to
	}
	op := "<"
	if inclusive {
		op = "<="
	}
	rows, err := tx.Query(ctx, `SELECT u.k, r.t, r.seq, r.vals[array_position(r.cids, u.cid)]
		FROM unnest($1::integer[], $2::integer[], $3::integer[], $4::bigint[], $5::bigint[]) AS u(k, meter, cid, lo, hi)
		JOIN LATERAL (SELECT t, seq, cids, vals FROM readings WHERE meter = u.meter AND t >= u.lo AND t `+op+` u.hi AND u.cid = ANY(cids)) r ON true
		ORDER BY u.k, r.t, r.seq`, idx, mids, cids, froms, tos)
	if err != nil {
		return nil, fmt.Errorf("read readings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k int32
		var p aggregate.Point
		var seq int64
		if err := rows.Scan(&k, &p.T, &seq, &p.V); err != nil {
			return nil, fmt.Errorf("read readings: %w", err)
		}
		p.Seq = uint64(seq)
		out[k] = append(out[k], p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read readings: %w", err)
	}
	return out, nil
}

// neighbours finds, in one query, for each unit of which (indexes into
// us), its meter's nearest value of the channel before lo (device time <
// lo) and, when wantAfter, at or after hi; of several at one device
// time, the one with the lowest seq (as aggregate.SortDedup keeps).
// Neighbours serve consumption of running totals, whose effective time is
// the device time. before[k] and after[k] are nil where there is none.
func neighbours(ctx context.Context, tx pgx.Tx, us []unit, which []int, lo, hi int64, wantAfter bool) (before, after []*aggregate.Point, err error) {
	before, after = make([]*aggregate.Point, len(us)), make([]*aggregate.Point, len(us))
	if len(which) == 0 {
		return before, after, nil
	}
	idx := make([]int32, len(which))
	mids, cids := make([]int32, len(which)), make([]int32, len(which))
	for j, k := range which {
		idx[j], mids[j], cids[j] = int32(k), us[k].mid, us[k].cid
	}
	rows, err := tx.Query(ctx, `SELECT u.k, false, n.t, n.seq, n.v FROM unnest($1::integer[], $2::integer[], $3::integer[]) AS u(k, meter, cid)
		CROSS JOIN LATERAL (SELECT t, seq, vals[array_position(cids, u.cid)] AS v FROM readings
			WHERE meter = u.meter AND t < $4 AND u.cid = ANY(cids) ORDER BY t DESC, seq LIMIT 1) n
		UNION ALL
		SELECT u.k, true, n.t, n.seq, n.v FROM unnest($1::integer[], $2::integer[], $3::integer[]) AS u(k, meter, cid)
		CROSS JOIN LATERAL (SELECT t, seq, vals[array_position(cids, u.cid)] AS v FROM readings
			WHERE meter = u.meter AND t >= $5 AND u.cid = ANY(cids) AND $6 ORDER BY t, seq LIMIT 1) n`, idx, mids, cids, lo, hi, wantAfter)
	if err != nil {
		return nil, nil, fmt.Errorf("read readings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k int32
		var isAfter bool
		var seq int64
		p := new(aggregate.Point)
		if err := rows.Scan(&k, &isAfter, &p.T, &seq, &p.V); err != nil {
			return nil, nil, fmt.Errorf("read readings: %w", err)
		}
		p.Seq = uint64(seq)
		if isAfter {
			after[k] = p
		} else {
			before[k] = p
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read readings: %w", err)
	}
	return before, after, nil
}

// raw returns one bucket per reading of the series in [from, to).
func (s *Store) raw(ctx context.Context, tx pgx.Tx, t target, from, to int64, fn store.Fn, loc *time.Location) ([]store.Bucket, error) {
	us := unitsOf([]target{t})
	spans := make([]span, len(us))
	for k := range us {
		spans[k] = span{unit: k, from: from, to: to}
	}
	got, err := values(ctx, tx, us, spans, false)
	if err != nil {
		return nil, err
	}
	var before []*aggregate.Point
	if fn == store.Delta && t.kind == meter.Total {
		all := make([]int, len(us))
		for k := range all {
			all[k] = k
		}
		if before, _, err = neighbours(ctx, tx, us, all, from, 0, false); err != nil {
			return nil, err
		}
	}
	var pts []aggregate.RawPoint
	for k := range us {
		if before != nil && before[k] != nil {
			p := before[k]
			pts = append(pts, aggregate.RawPoint{Meter: k, T: p.T, V: p.V, Seq: p.Seq})
		}
		for _, p := range aggregate.SortDedup(got[k]) {
			pts = append(pts, aggregate.RawPoint{Meter: k, T: p.T, V: p.V, Seq: p.Seq})
		}
	}
	return aggregate.RawBuckets(pts, from, to, t.kind, t.ctr, fn, loc)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }
