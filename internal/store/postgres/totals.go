package postgres

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shuixiao/shuixiao/consumption"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/aggregate"
	"github.com/shuixiao/shuixiao/meter"
)

// Consumption pre-totals (store.TotalsReader), as store/sqlite keeps them:
// per point and channel, each whole local day's hour buckets summed
// (Options.Location, Asia/Shanghai by default) and each whole month's once
// all its days are, with the dependency span of the readings that can
// change them (aggregate.Dependency). A commit marks the meter-hours it
// touches dirty (rollup_dirty); a query uses a total only when its stamp is
// current and no dirty hour of the point's meters falls in its span. The
// builder drops, in the transaction that rebuilds an hour, the totals whose
// span holds it, and then computes the closed days it touched with the
// store's own Consumption.
const totalsDDL = `
CREATE TABLE IF NOT EXISTS consumption_totals (
	point     TEXT COLLATE "C" NOT NULL,
	cid       INTEGER NOT NULL,
	t_start   BIGINT NOT NULL,
	t_end     BIGINT NOT NULL,
	dep_lo    BIGINT NOT NULL,
	dep_hi    BIGINT NOT NULL,
	stamp     BIGINT NOT NULL,
	intervals INTEGER NOT NULL,
	valid     INTEGER NOT NULL,
	first_t   BIGINT NOT NULL,
	first_v   DOUBLE PRECISION NOT NULL,
	last_t    BIGINT NOT NULL,
	last_v    DOUBLE PRECISION NOT NULL,
	sum       DOUBLE PRECISION[] NOT NULL,
	PRIMARY KEY (point, cid, t_start, t_end)
);
CREATE INDEX IF NOT EXISTS consumption_totals_span ON consumption_totals (t_start, t_end);
`

func init() { featureDDL = append(featureDDL, totalsDDL) }

var _ store.TotalsReader = (*Store)(nil)

// totalsKeeper is the builder's bookkeeping of pre-totals.
type totalsKeeper struct {
	mu      sync.Mutex
	touched map[string][2]int64 // points whose totals to compute, and the times
	// gen counts the builder's drops: a total computed across one is not
	// written.
	gen atomic.Uint64
	// next and done: how far the lazy back-fill has gone through the
	// points since the store was opened.
	fill sync.Mutex
	next string
	done bool
}

// backfillPoints is the number of points one builder run back-fills.
const backfillPoints = 200

// backfillStep computes the missing totals of the next n points over all
// their hour summaries, so that hours built before the store kept
// pre-totals get them a few points per run.
func (s *Store) backfillStep(ctx context.Context, n int) error {
	s.totals.fill.Lock()
	defer s.totals.fill.Unlock()
	if s.totals.done {
		return nil
	}
	rows, err := s.pool.Query(ctx, `SELECT p.id, min(r.hour), max(r.hour) FROM points p JOIN meters m ON m.point = p.id JOIN rollups r ON r.meter = m.mid
		WHERE p.id > $1 GROUP BY p.id ORDER BY p.id LIMIT $2`, s.totals.next, n)
	if err != nil {
		return err
	}
	type work struct {
		point  string
		lo, hi int64
	}
	ws, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (work, error) {
		var w work
		return w, r.Scan(&w.point, &w.lo, &w.hi)
	})
	if err != nil {
		return err
	}
	if len(ws) < n {
		s.totals.done = true
	}
	for _, w := range ws {
		if err := s.pointTotals(ctx, w.point, time.UnixMilli(w.lo*hourMs), time.UnixMilli(w.hi*hourMs)); err != nil {
			return fmt.Errorf("totals of %s: %w", w.point, err)
		}
		s.totals.next = w.point
	}
	return nil
}

func (k *totalsKeeper) touch(point string, lo, hi int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.touched == nil {
		k.touched = map[string][2]int64{}
	}
	if r, ok := k.touched[point]; ok {
		lo, hi = min(lo, r[0]), max(hi, r[1])
	}
	k.touched[point] = [2]int64{lo, hi}
}

func (k *totalsKeeper) take() map[string][2]int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	t := k.touched
	k.touched = nil
	return t
}

const totalCols = `t_start, t_end, dep_lo, dep_hi, stamp, intervals, valid, first_t, first_v, last_t, last_v, sum`

// totalRow is a stored total with its stamp and span.
type totalRow struct {
	t             store.Total
	stamp, lo, hi int64
}

// scanTotal reads totalCols after len(pre) leading columns.
func scanTotal(rows pgx.Rows, loc *time.Location, pre ...any) (totalRow, error) {
	var (
		r                  totalRow
		start, end, ft, lt int64
		intervals, valid   int32
		sum                []float64
	)
	dst := append(pre, &start, &end, &r.lo, &r.hi, &r.stamp, &intervals, &valid, &ft, &r.t.FirstValue, &lt, &r.t.LastValue, &sum)
	if err := rows.Scan(dst...); err != nil {
		return r, err
	}
	r.t.Start, r.t.End = time.UnixMilli(start).In(loc), time.UnixMilli(end).In(loc)
	r.t.Intervals, r.t.Valid, r.t.Sum = int(intervals), int(valid), consumption.MakeSum(sum)
	if valid > 0 {
		r.t.FirstValid, r.t.LastValid = time.UnixMilli(ft).In(loc), time.UnixMilli(lt).In(loc)
	}
	return r, nil
}

// dirtyHours reads the meter-hours whose summaries are to be rebuilt.
func dirtyHours(ctx context.Context, db q) (map[int32][]int64, error) {
	rows, err := db.Query(ctx, `SELECT meter, hour FROM rollup_dirty`)
	if err != nil {
		return nil, fmt.Errorf("read dirty hours: %w", err)
	}
	defer rows.Close()
	out := map[int32][]int64{}
	for rows.Next() {
		var m int32
		var h int64
		if err := rows.Scan(&m, &h); err != nil {
			return nil, err
		}
		out[m] = append(out[m], h)
	}
	return out, rows.Err()
}

// dirtyIn reports whether a dirty hour of the meters meets the span
// [lo, hi] (a commit marks the hour of a reading's time and of the
// millisecond before).
func dirtyIn(dirty map[int32][]int64, mids []int32, lo, hi int64) bool {
	for _, m := range mids {
		for _, h := range dirty[m] {
			if h*hourMs <= hi && (h+1)*hourMs > lo {
				return true
			}
		}
	}
	return false
}

func stampOf(t target) int64 {
	mids := make([]int64, len(t.mids))
	for i, m := range t.mids {
		mids[i] = int64(m)
	}
	return aggregate.Stamp(mids, int64(t.cid), t.kind, t.ctr.Modulus)
}

// ConsumptionTotals implements store.TotalsReader.
func (s *Store) ConsumptionTotals(ctx context.Context, qr store.ConsumptionQuery) ([]store.SeriesTotals, error) {
	if err := checkRange(qr.From, qr.To); err != nil {
		return nil, fmt.Errorf("consumption totals: %w", err)
	}
	if qr.Interval != store.Hour {
		return nil, fmt.Errorf("consumption totals: %w: interval %q, want %q", store.ErrInvalid, qr.Interval, store.Hour)
	}
	out := make([]store.SeriesTotals, len(qr.Series))
	for i, ser := range qr.Series {
		out[i].Series = ser
	}
	tx, err := s.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	ts, err := s.resolveAll(ctx, tx, qr.Series, nil)
	if err != nil {
		return nil, fmt.Errorf("consumption totals: %w", err)
	}
	dirty, err := dirtyHours(ctx, tx)
	if err != nil {
		return nil, err
	}
	loc := s.loc(qr.Location)
	type key struct {
		point string
		cid   int32
	}
	want := map[key][]int{}
	var points []string
	for i, t := range ts {
		if !t.known || t.series.Point == "" || (t.kind != meter.Total && t.kind != meter.Interval) {
			continue
		}
		k := key{t.series.Point, t.cid}
		if _, ok := want[k]; !ok {
			points = append(points, t.series.Point)
		}
		want[k] = append(want[k], i)
	}
	if len(want) == 0 {
		return out, nil
	}
	got := make([][]store.Total, len(ts))
	read := func(sql string, args ...any) error {
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return fmt.Errorf("consumption totals: %w", err)
		}
		defer rows.Close()
		var point string
		var cid int32
		for rows.Next() {
			r, err := scanTotal(rows, loc, &point, &cid)
			if err != nil {
				return fmt.Errorf("consumption totals: %w", err)
			}
			for _, i := range want[key{point, cid}] {
				t := ts[i]
				if r.stamp == stampOf(t) && aggregate.OnHourGrid(r.t, loc) && !dirtyIn(dirty, t.mids, r.lo, r.hi) {
					got[i] = append(got[i], r.t)
				}
			}
		}
		return rows.Err()
	}
	from, to := ms(qr.From), ms(qr.To)
	// Whole months first, each in one range (of the points asked for,
	// unless they are many); then the days of the time outside them and of
	// the months some series has no total for.
	cursor := from
	var stretches [][2]int64
	for _, m := range aggregate.Months(qr.From, qr.To, s.opt.Location) {
		before := make([]int, len(ts))
		for i := range ts {
			before[i] = len(got[i])
		}
		if len(points) >= 2048 {
			err = read(`SELECT point, cid, `+totalCols+` FROM consumption_totals WHERE t_start = $1 AND t_end = $2`, m[0], m[1])
		} else {
			err = read(`SELECT point, cid, `+totalCols+` FROM consumption_totals WHERE t_start = $1 AND t_end = $2 AND point = ANY($3)`, m[0], m[1], points)
		}
		if err != nil {
			return nil, err
		}
		all := true
		for _, idx := range want {
			for _, i := range idx {
				all = all && len(got[i]) > before[i]
			}
		}
		if all {
			if m[0] > cursor {
				stretches = append(stretches, [2]int64{cursor, m[0]})
			}
			cursor = m[1]
		}
	}
	if to > cursor {
		stretches = append(stretches, [2]int64{cursor, to})
	}
	for _, st := range stretches {
		if err := read(`SELECT point, cid, `+totalCols+` FROM consumption_totals WHERE point = ANY($1) AND t_start >= $2 AND t_end <= $3 AND t_end - t_start <= $4`,
			points, st[0], st[1], 25*hourMs); err != nil {
			return nil, err
		}
	}
	for i := range ts {
		out[i].Totals = aggregate.Cover(got[i])
	}
	return out, nil
}

// dropTotals deletes, in the transaction that rebuilds meter-hour (mid,
// hour) of point, the totals whose span meets the hour, and notes the
// point's days to compute again.
func (s *Store) dropTotals(ctx context.Context, tx pgx.Tx, point string, hour int64) error {
	lo, hi := hour*hourMs-1, (hour+1)*hourMs
	rows, err := tx.Query(ctx, `DELETE FROM consumption_totals WHERE point = $1 AND dep_lo <= $2 AND dep_hi >= $3 RETURNING t_start`, point, hi, lo)
	if err != nil {
		return fmt.Errorf("drop totals of %s: %w", point, err)
	}
	earliest := lo
	for rows.Next() {
		var t int64
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		earliest = min(earliest, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	s.totals.gen.Add(1)
	s.totals.touch(point, earliest, hi)
	return nil
}

// refreshTotals computes the totals the builder dropped or closed, and
// back-fills a few more points.
func (s *Store) refreshTotals(ctx context.Context) error {
	if err := s.refreshTouched(ctx); err != nil {
		return err
	}
	return s.backfillStep(ctx, backfillPoints)
}

func (s *Store) refreshTouched(ctx context.Context) error {
	touched := s.totals.take()
	points := make([]string, 0, len(touched))
	for p := range touched {
		points = append(points, p)
	}
	slices.Sort(points)
	for i, p := range points {
		r := touched[p]
		if err := s.pointTotals(ctx, p, time.UnixMilli(r[0]), time.UnixMilli(r[1])); err != nil {
			// Keep what is left for the next run.
			for _, q := range points[i:] {
				s.totals.touch(q, touched[q][0], touched[q][1])
			}
			return fmt.Errorf("totals of %s: %w", p, err)
		}
	}
	return nil
}

// FillTotals computes the missing pre-totals of every point's closed days
// in [from, to): the back-fill for hours built before the store kept them.
func (s *Store) FillTotals(ctx context.Context, from, to time.Time) error {
	rows, err := s.pool.Query(ctx, `SELECT id FROM points ORDER BY id`)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, p := range ids {
		s.totals.touch(p, ms(from), ms(to)-1)
	}
	return s.refreshTouched(ctx)
}

// pointTotals computes the totals of a point's delta channels over the
// local days from the one holding from to the one holding to.
func (s *Store) pointTotals(ctx context.Context, point string, from, to time.Time) error {
	loc := s.opt.Location
	y, m, d := from.In(loc).Date()
	a := time.Date(y, m, d, 0, 0, 0, 0, loc)
	y, m, d = to.In(loc).Date()
	b := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	chans, err := s.pointChannels(ctx, point)
	if err != nil {
		return err
	}
	for _, c := range chans {
		if c.Kind == meter.Total || c.Kind == meter.Interval {
			if err := s.seriesTotals(ctx, store.Series{Point: point, Channel: c.Name}, a, b); err != nil {
				return err
			}
		}
	}
	return nil
}

// seriesTotals computes a series' missing day totals over the local days
// [a, b), writes the closed ones and the months they complete; nothing is
// written if the builder dropped totals or a commit dirtied their span
// meanwhile.
func (s *Store) seriesTotals(ctx context.Context, ser store.Series, a, b time.Time) error {
	t, err := s.resolve(ctx, s.pool, ser)
	if err != nil || !t.known || len(t.mids) == 0 {
		return err
	}
	gen := s.totals.gen.Load()
	loc := s.opt.Location
	stamp := stampOf(t)
	spans := make([][]aggregate.Span, len(t.mids))
	for i, mid := range t.mids {
		if spans[i], err = s.spans(ctx, mid, t.cid, ms(a), ms(b)); err != nil {
			return err
		}
	}
	rows, err := s.pool.Query(ctx, `SELECT t_start FROM consumption_totals WHERE point = $1 AND cid = $2 AND t_start >= $3 AND t_end <= $4 AND stamp = $5 AND t_end - t_start <= $6`,
		ser.Point, t.cid, ms(a), ms(b), stamp, 25*hourMs)
	if err != nil {
		return err
	}
	starts, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	write, err := aggregate.ClosedDays(a, b, loc, func(start int64) bool { return slices.Contains(starts, start) }, spans,
		func(from, to time.Time) ([]store.Bucket, error) {
			res, err := s.Consumption(ctx, store.ConsumptionQuery{Series: []store.Series{ser}, From: from, To: to, Interval: store.Hour, Location: loc})
			if err != nil {
				return nil, err
			}
			return res[0].Buckets, nil
		})
	if err != nil {
		return err
	}
	if len(write) == 0 {
		return nil
	}
	return s.withWrite(ctx, func(tx pgx.Tx) error {
		if s.totals.gen.Load() != gen {
			return nil // hours rebuilt meanwhile: computed again on the next run
		}
		dirty, err := dirtyHours(ctx, tx)
		if err != nil {
			return err
		}
		put := func(r aggregate.SpanTotal) error {
			var ft, lt int64
			if r.Valid > 0 {
				ft, lt = ms(r.FirstValid), ms(r.LastValid)
			}
			_, err := tx.Exec(ctx, `INSERT INTO consumption_totals(point, cid, `+totalCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
				ON CONFLICT (point, cid, t_start, t_end) DO UPDATE SET dep_lo = EXCLUDED.dep_lo, dep_hi = EXCLUDED.dep_hi, stamp = EXCLUDED.stamp,
				intervals = EXCLUDED.intervals, valid = EXCLUDED.valid, first_t = EXCLUDED.first_t, first_v = EXCLUDED.first_v,
				last_t = EXCLUDED.last_t, last_v = EXCLUDED.last_v, sum = EXCLUDED.sum`,
				ser.Point, t.cid, ms(r.Start), ms(r.End), r.Lo, r.Hi, stamp, r.Intervals, r.Valid, ft, r.FirstValue, lt, r.LastValue, partials(r.Sum))
			return err
		}
		months := map[int64]time.Time{}
		for _, r := range write {
			if dirtyIn(dirty, t.mids, r.Lo, r.Hi) {
				continue
			}
			if err := put(r); err != nil {
				return err
			}
			y, m, _ := r.Start.In(loc).Date()
			first := time.Date(y, m, 1, 0, 0, 0, 0, loc)
			months[ms(first)] = first
		}
		for _, first := range months {
			next := first.AddDate(0, 1, 0)
			rows, err := tx.Query(ctx, `SELECT `+totalCols+` FROM consumption_totals WHERE point = $1 AND cid = $2 AND t_start >= $3 AND t_end <= $4
				AND stamp = $5 AND t_end - t_start <= $6 ORDER BY t_start`, ser.Point, t.cid, ms(first), ms(next), stamp, 25*hourMs)
			if err != nil {
				return err
			}
			var days []aggregate.SpanTotal
			for rows.Next() {
				r, err := scanTotal(rows, loc)
				if err != nil {
					rows.Close()
					return err
				}
				days = append(days, aggregate.SpanTotal{Total: r.t, Lo: r.lo, Hi: r.hi})
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if mt, ok := aggregate.MonthOf(days, loc); ok {
				if err := put(mt); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// partials is a sum's stored form (never nil: the column is NOT NULL).
func partials(s consumption.Sum) []float64 {
	if p := s.Partials(); p != nil {
		return p
	}
	return []float64{}
}

// spans lists a meter's hour summaries of channel cid over [a, b) and the
// nearest one on each side, as (first, last) effective times.
func (s *Store) spans(ctx context.Context, mid, cid int32, a, b int64) ([]aggregate.Span, error) {
	h0, h1 := floorDiv(a, hourMs), ceilDiv(b, hourMs)
	rows, err := s.pool.Query(ctx, `(SELECT hour, first_t, last_t FROM rollups WHERE meter = $1 AND cid = $2 AND hour < $3 ORDER BY hour DESC LIMIT 1)
		UNION ALL (SELECT hour, first_t, last_t FROM rollups WHERE meter = $1 AND cid = $2 AND hour >= $3 AND hour < $4)
		UNION ALL (SELECT hour, first_t, last_t FROM rollups WHERE meter = $1 AND cid = $2 AND hour >= $4 ORDER BY hour LIMIT 1)`, mid, cid, h0, h1)
	if err != nil {
		return nil, fmt.Errorf("read rollups: %w", err)
	}
	type hs struct {
		h int64
		s aggregate.Span
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (hs, error) {
		var x hs
		return x, r.Scan(&x.h, &x.s.FirstT, &x.s.LastT)
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(got, func(x, y hs) int { return int(x.h - y.h) })
	out := make([]aggregate.Span, len(got))
	for i, x := range got {
		out[i] = x.s
	}
	return out, nil
}
