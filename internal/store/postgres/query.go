package postgres

import (
	"cmp"
	"context"
	"errors"
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
func (s *Store) resolve(ctx context.Context, ser store.Series) (target, error) {
	if err := ser.Validate(); err != nil {
		return target{}, err
	}
	t := target{series: ser, kind: meter.Rate}
	pointID := ser.Point
	if ser.Meter != "" {
		s.reg.RLock()
		mi, ok := s.meters[ser.Meter]
		s.reg.RUnlock()
		if !ok {
			return target{}, fmt.Errorf("series %s: meter %w", ser, store.ErrNotFound)
		}
		t.mids, pointID = []int32{mi.mid}, mi.point
	}
	chans, err := s.pointChannels(ctx, pointID)
	if errors.Is(err, store.ErrNotFound) {
		return target{}, fmt.Errorf("series %s: point %s: %w", ser, pointID, store.ErrNotFound)
	}
	if err != nil {
		return target{}, fmt.Errorf("series %s: %w", ser, err)
	}
	for _, c := range chans {
		if c.Name == ser.Channel {
			t.kind, t.ctr = c.Kind, aggregate.CounterFor(c)
		}
	}
	s.reg.RLock()
	if ser.Point != "" {
		// The point's meters from the directory this process keeps with
		// its own writes (one writer per store), not a query per series.
		for mid, mi := range s.byMid {
			if mi.point == ser.Point {
				t.mids = append(t.mids, mid)
			}
		}
		slices.Sort(t.mids)
	}
	t.cid, t.known = s.chanID[ser.Channel]
	s.reg.RUnlock()
	return t, nil
}

// readTx is one consistent snapshot for a query.
func (s *Store) readTx(ctx context.Context) (pgx.Tx, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
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
	t, err := s.resolve(ctx, qr.Series)
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
	if err := s.accumulate(ctx, tx, accs, g, t, qr.Interval != store.Min15, qr.Fn == store.Delta); err != nil {
		return nil, fmt.Errorf("aggregate %s: %w", qr.Series, err)
	}
	return aggregate.Finalize(accs, g, t.kind, qr.Fn)
}

// Consumption implements store.SeriesReader.
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
	ts := make([]target, len(qr.Series))
	for i, ser := range qr.Series {
		if ts[i], err = s.resolve(ctx, ser); err != nil {
			return nil, fmt.Errorf("consumption: %w", err)
		}
		if err := aggregate.CheckFn(ts[i].kind, store.Delta); err != nil {
			return nil, fmt.Errorf("consumption %s: %w", ser, err)
		}
	}
	out := make([]store.SeriesBuckets, len(ts))
	accs := make([]aggregate.Acc, g.Len())
	for i, t := range ts {
		clear(accs)
		if err := s.accumulate(ctx, tx, accs, g, t, qr.Interval != store.Min15, true); err != nil {
			return nil, fmt.Errorf("consumption %s: %w", t.series, err)
		}
		bs, err := aggregate.Finalize(accs, g, t.kind, store.Delta)
		if err != nil {
			return nil, fmt.Errorf("consumption %s: %w", t.series, err)
		}
		out[i] = store.SeriesBuckets{Series: t.series, Buckets: bs}
	}
	return out, nil
}

// accumulate adds every meter of t to the grid's accumulators: the hours
// that lie inside one bucket and have a current summary as that summary,
// the readings of every other hour as single points and, for the
// consumption of a running total, the nearest reading on either side.
func (s *Store) accumulate(ctx context.Context, tx pgx.Tx, accs []aggregate.Acc, g aggregate.Grid, t target, useRollups, delta bool) error {
	if !t.known {
		return nil
	}
	h0, h1 := floorDiv(g.Start(), hourMs), ceilDiv(g.End(), hourMs)
	neighbours := delta && t.kind == meter.Total
	def := chanDef{kind: t.kind, ctr: t.ctr}
	for _, mid := range t.mids {
		sums := map[int64]aggregate.Summary{}
		if useRollups {
			var err error
			if sums, err = hourSummaries(ctx, tx, mid, t.cid, def, h0, h1); err != nil {
				return err
			}
			for h := range sums {
				if !g.Holds(h*hourMs, (h+1)*hourMs-1) {
					delete(sums, h)
				}
			}
		}
		items := make([]aggregate.Summary, 0, len(sums)+2)
		for _, sm := range sums {
			if sm.N > 0 {
				items = append(items, sm)
			}
		}
		// The other hours from the readings, a run of consecutive hours at a
		// time. An interval total stamped at a run's end belongs inside it:
		// read device times up to and including the run's end, keep
		// effective times inside it.
		var ps []aggregate.Point
		for a := h0; a < h1; {
			if _, ok := sums[a]; ok {
				a++
				continue
			}
			b := a + 1
			for b < h1 {
				if _, ok := sums[b]; ok {
					break
				}
				b++
			}
			pts, err := s.values(ctx, tx, mid, t.cid, a*hourMs, b*hourMs, true)
			if err != nil {
				return err
			}
			for _, p := range pts {
				if te := aggregate.EffectiveTime(t.kind, p.T); te >= a*hourMs && te < b*hourMs {
					p.T = te
					ps = append(ps, p)
				}
			}
			a = b
		}
		for _, p := range aggregate.SortDedup(ps) {
			items = append(items, aggregate.Single(p))
		}
		slices.SortFunc(items, func(x, y aggregate.Summary) int { return cmp.Compare(x.FirstT, y.FirstT) })
		if neighbours {
			if p, ok, err := s.neighbour(ctx, tx, mid, t.cid, h0*hourMs, true); err != nil {
				return err
			} else if ok {
				items = slices.Insert(items, 0, aggregate.Single(p))
			}
			if p, ok, err := s.neighbour(ctx, tx, mid, t.cid, h1*hourMs, false); err != nil {
				return err
			} else if ok {
				items = append(items, aggregate.Single(p))
			}
		}
		aggregate.Accumulate(accs, g, items, t.kind, t.ctr)
	}
	return nil
}

// values reads a meter's values of one channel with device time in
// [a, b) — or [a, b] when inclusive — at their device times.
func (s *Store) values(ctx context.Context, tx pgx.Tx, mid, cid int32, a, b int64, inclusive bool) ([]aggregate.Point, error) {
	op := "<"
	if inclusive {
		op = "<="
	}
	rows, err := tx.Query(ctx, `SELECT t, seq, vals[array_position(cids, $2)] FROM readings
		WHERE meter = $1 AND t >= $3 AND t `+op+` $4 AND $2 = ANY(cids) ORDER BY t, seq`, mid, cid, a, b)
	if err != nil {
		return nil, fmt.Errorf("read readings: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (aggregate.Point, error) {
		var p aggregate.Point
		var seq int64
		err := r.Scan(&p.T, &seq, &p.V)
		p.Seq = uint64(seq)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("read readings: %w", err)
	}
	return out, nil
}

// neighbour finds the meter's nearest value of the channel before edge
// (device time < edge) or at or after it; of several at one device time,
// the one with the lowest seq (as aggregate.SortDedup keeps). Neighbours
// serve consumption of running totals, whose effective time is the device
// time.
func (s *Store) neighbour(ctx context.Context, tx pgx.Tx, mid, cid int32, edge int64, before bool) (aggregate.Point, bool, error) {
	cond, order := "t >= $3", "t, seq"
	if before {
		cond, order = "t < $3", "t DESC, seq"
	}
	var p aggregate.Point
	var seq int64
	err := tx.QueryRow(ctx, `SELECT t, seq, vals[array_position(cids, $2)] FROM readings
		WHERE meter = $1 AND `+cond+` AND $2 = ANY(cids) ORDER BY `+order+` LIMIT 1`, mid, cid, edge).Scan(&p.T, &seq, &p.V)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("read readings: %w", err)
	}
	p.Seq = uint64(seq)
	return p, true, nil
}

// raw returns one bucket per reading of the series in [from, to).
func (s *Store) raw(ctx context.Context, tx pgx.Tx, t target, from, to int64, fn store.Fn, loc *time.Location) ([]store.Bucket, error) {
	if !t.known {
		return nil, nil
	}
	var pts []aggregate.RawPoint
	for k, mid := range t.mids {
		ps, err := s.values(ctx, tx, mid, t.cid, from, to, false)
		if err != nil {
			return nil, err
		}
		if fn == store.Delta && t.kind == meter.Total {
			p, ok, err := s.neighbour(ctx, tx, mid, t.cid, from, true)
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
