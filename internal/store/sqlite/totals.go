package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/consumption"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/aggregate"
	"github.com/shuixiao/shuixiao/meter"
)

// Consumption pre-totals (store.TotalsReader): per point and channel, the
// hour buckets of each whole local day (Options.Location, Asia/Shanghai by
// default: the balance periods are local dates) summed, and of each whole
// month once all its days are. Compaction keeps them: it drops, in the
// transaction that writes new hour summaries, every total whose dependency
// span (aggregate.Dependency) holds one of the new readings, then computes
// the closed days (a reading after them) it touched or dropped with the
// store's own Consumption. A query uses a total only when its stamp
// (meters, channel definition) is current and no head reading of the
// point falls in its span; anything else is read from the hour summaries.
const totalsDDL = `
CREATE TABLE IF NOT EXISTS consumption_day_totals (
	point   TEXT    NOT NULL,
	cid     INTEGER NOT NULL,
	t_start INTEGER NOT NULL, -- Unix ms, a local midnight
	t_end   INTEGER NOT NULL,
	dep_lo  INTEGER NOT NULL, -- dependency span, effective ms
	dep_hi  INTEGER NOT NULL,
	data    BLOB    NOT NULL, -- encodeTotal: stamp, hours, valid hours, first/last valid, exact sum
	PRIMARY KEY (point, cid, t_start)
) WITHOUT ROWID;
-- Months keyed by their start first: a roll-up reads a month of every
-- series in one range.
CREATE TABLE IF NOT EXISTS consumption_month_totals (
	t_start INTEGER NOT NULL,
	point   TEXT    NOT NULL,
	cid     INTEGER NOT NULL,
	t_end   INTEGER NOT NULL,
	dep_lo  INTEGER NOT NULL,
	dep_hi  INTEGER NOT NULL,
	data    BLOB    NOT NULL,
	PRIMARY KEY (t_start, point, cid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS consumption_month_totals_point ON consumption_month_totals(point);
`

func init() { featureDDL = append(featureDDL, totalsDDL) }

var _ store.TotalsReader = (*Store)(nil)

// The columns scanTotal reads, and the queries that read them.
const (
	totalCols = `t_start, t_end, dep_lo, dep_hi, data`
	qTotals   = `SELECT ` + totalCols + ` FROM consumption_day_totals WHERE point = ? AND cid = ? AND t_start >= ? AND t_end <= ?`
	qTotal    = `SELECT ` + totalCols + ` FROM consumption_month_totals WHERE t_start = ? AND point = ? AND cid = ? AND t_end = ?`
	// The month's bounds are the query's: not read back.
	qMonth = `SELECT point, cid, dep_lo, dep_hi, data FROM consumption_month_totals WHERE t_start = ? AND point >= ? AND point <= ? AND t_end = ? ORDER BY point, cid`
)

// bulkSeries is the number of series from which ConsumptionTotals reads
// each month of every series in one range rather than series by series.
const bulkSeries = 2048

// ConsumptionTotals implements store.TotalsReader.
func (s *Store) ConsumptionTotals(ctx context.Context, q store.ConsumptionQuery) ([]store.SeriesTotals, error) {
	return s.consumptionTotals(ctx, q, bulkSeries)
}

// consumptionTotals is ConsumptionTotals reading the months in one range
// from bulkFrom series on (tests read both ways with few series).
func (s *Store) consumptionTotals(ctx context.Context, q store.ConsumptionQuery, bulkFrom int) ([]store.SeriesTotals, error) {
	if err := checkRange(q.From, q.To); err != nil {
		return nil, fmt.Errorf("consumption totals: %w", err)
	}
	if q.Interval != store.Hour {
		return nil, fmt.Errorf("consumption totals: %w: interval %q, want %q", store.ErrInvalid, q.Interval, store.Hour)
	}
	out := make([]store.SeriesTotals, len(q.Series))
	for i, ser := range q.Series {
		out[i].Series = ser
	}
	ts := make([]target, len(q.Series))
	var mids []int64
	for i, ser := range q.Series {
		var err error
		if ts[i], err = s.resolve(ctx, ser); err != nil {
			return nil, fmt.Errorf("consumption totals: %w", err)
		}
		mids = append(mids, ts[i].mids...)
	}
	rd, err := s.beginRead(ctx, mids)
	if err != nil {
		return nil, err
	}
	defer rd.close()
	from, to := q.From.UnixMilli(), q.To.UnixMilli()
	loc := s.loc(q.Location)
	months := aggregate.Months(q.From, q.To, s.opt.Location)
	var byMonth *bulkMonths
	if len(ts) >= bulkFrom && len(months) > 0 {
		if byMonth, err = rd.monthRows(ts, months, loc); err != nil {
			return nil, fmt.Errorf("consumption totals: %w", err)
		}
	}
	for i, t := range ts {
		if !t.known || t.series.Point == "" || (t.def.kind != meter.Total && t.def.kind != meter.Interval) {
			continue
		}
		stamp := aggregate.Stamp(t.mids, int64(t.cid), t.def.kind, t.def.ctr.Modulus)
		got, err := rd.totals(t, byMonth, i, stamp, from, to, months, loc)
		if err != nil {
			return nil, fmt.Errorf("consumption totals %s: %w", t.series, err)
		}
		out[i].Totals = got
	}
	return out, nil
}

// totals reads one series' current totals inside [from, to): each whole
// month's by its key (from bulk, the months monthRows read, when not nil:
// the series is the query's i-th), then the days of the time no month
// total covers.
func (rd *readTx) totals(t target, bulk *bulkMonths, i int, stamp, from, to int64, months [][2]int64, loc *time.Location) ([]store.Total, error) {
	got := make([]store.Total, 0, len(months))
	use := func(tot store.Total, st, lo, hi int64) bool {
		if st == stamp && aggregate.OnHourGrid(tot, loc) && !rd.headIn(t, lo, hi) {
			got = append(got, tot)
			return true
		}
		return false
	}
	read := func(q string, args ...any) error {
		rows, err := rd.query(q, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			tot, st, lo, hi, err := scanTotal(rows, loc)
			if err != nil {
				rows.Close()
				return err
			}
			use(tot, st, lo, hi)
		}
		return closeRows(rows)
	}
	cursor := from
	for mi, m := range months {
		n := len(got)
		if bulk != nil {
			if r, ok := bulk.month(mi, i); ok {
				use(r.t, r.stamp, r.lo, r.hi)
			}
		} else if err := read(qTotal, m[0], t.series.Point, t.cid, m[1]); err != nil {
			return nil, err
		}
		if len(got) == n {
			continue
		}
		if m[0] > cursor {
			if err := read(qTotals, t.series.Point, t.cid, cursor, m[0]); err != nil {
				return nil, err
			}
		}
		cursor = m[1]
	}
	if to > cursor {
		if err := read(qTotals, t.series.Point, t.cid, cursor, to); err != nil {
			return nil, err
		}
	}
	return aggregate.Cover(got), nil
}

type seriesKey struct {
	point string
	cid   uint32
}

func (k seriesKey) compare(o seriesKey) int {
	if c := strings.Compare(k.point, o.point); c != 0 {
		return c
	}
	return cmp.Compare(k.cid, o.cid)
}

// monthRow is a stored month total with its stamp and span.
type monthRow struct {
	t             store.Total
	stamp, lo, hi int64
}

// bulkMonths are the month totals monthRows read: of series i (its index
// in the query) and month m, rows[m][at[m][i]] when at[m][i] ≥ 0.
type bulkMonths struct {
	at   [][]int32
	rows [][]monthRow
}

// month returns series i's total of month m (their indexes in the query).
func (b *bulkMonths) month(m, i int) (monthRow, bool) {
	if k := b.at[m][i]; k >= 0 {
		return b.rows[m][k], true
	}
	return monthRow{}, false
}

// monthRows reads the month totals of the series, month by month, each in
// one range of the key (t_start, point, cid), and matches the rows to the
// series sorted by (point, cid) in one pass: no map of half a million
// series.
func (rd *readTx) monthRows(ts []target, months [][2]int64, loc *time.Location) (*bulkMonths, error) {
	var order []int // the series with a point, by (point, cid)
	for i, t := range ts {
		if t.known && t.series.Point != "" {
			order = append(order, i)
		}
	}
	key := func(i int) seriesKey { return seriesKey{ts[i].series.Point, ts[i].cid} }
	byKey := func(a, b int) int { return key(a).compare(key(b)) }
	if !slices.IsSortedFunc(order, byKey) {
		slices.SortStableFunc(order, byKey)
	}
	b := &bulkMonths{at: make([][]int32, len(months)), rows: make([][]monthRow, len(months))}
	if len(order) == 0 {
		for m := range months {
			b.at[m] = slices.Repeat([]int32{-1}, len(ts))
		}
		return b, nil
	}
	// The series' points as one range of the key: a caller that splits
	// its series by point reads disjoint ranges.
	lo, hi := ts[order[0]].series.Point, ts[order[len(order)-1]].series.Point
	for mi, m := range months {
		at := slices.Repeat([]int32{-1}, len(ts))
		var got []monthRow
		rows, err := rd.query(qMonth, m[0], lo, hi, m[1])
		if err != nil {
			return nil, err
		}
		var (
			k            seriesKey
			depLo, depHi int64
			data         sql.RawBytes
		)
		j := 0 // order[j:] are the series not yet passed
		for rows.Next() {
			if err := rows.Scan(&k.point, &k.cid, &depLo, &depHi, &data); err != nil {
				rows.Close()
				return nil, err
			}
			for j < len(order) && key(order[j]).compare(k) < 0 {
				j++
			}
			if j == len(order) || key(order[j]) != k {
				continue // a series not asked for
			}
			tot, st, err := decodeTotal(data, m[0], m[1], loc)
			if err != nil {
				rows.Close()
				return nil, err
			}
			// Every series of the key (asked for more than once).
			for e := j; e < len(order) && key(order[e]) == k; e++ {
				at[order[e]] = int32(len(got))
			}
			got = append(got, monthRow{t: tot, stamp: st, lo: depLo, hi: depHi})
		}
		if err := closeRows(rows); err != nil {
			return nil, err
		}
		b.at[mi], b.rows[mi] = at, got
	}
	return b, nil
}

// scanTotal reads one row of totalCols.
func scanTotal(rows *sql.Rows, loc *time.Location) (store.Total, int64, int64, int64, error) {
	var (
		start, end, lo, hi int64
		data               sql.RawBytes
	)
	if err := rows.Scan(&start, &end, &lo, &hi, &data); err != nil {
		return store.Total{}, 0, 0, 0, err
	}
	t, stamp, err := decodeTotal(data, start, end, loc)
	return t, stamp, lo, hi, err
}

// encodeTotal packs a total's figures: its stamp, hours, valid hours, the
// first and last valid hour (relative to its start) with their values,
// and the exact sum's partials.
func encodeTotal(stamp int64, t store.Total) []byte {
	b := binary.AppendVarint(nil, stamp)
	b = binary.AppendUvarint(b, uint64(t.Intervals))
	b = binary.AppendUvarint(b, uint64(t.Valid))
	if t.Valid > 0 {
		b = binary.AppendVarint(b, t.FirstValid.Sub(t.Start).Milliseconds())
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(t.FirstValue))
		b = binary.AppendVarint(b, t.LastValid.Sub(t.Start).Milliseconds())
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(t.LastValue))
	}
	return t.Sum.AppendBinary(b)
}

// errBadTotal reports a corrupt total.
var errBadTotal = errors.New("corrupt consumption total")

// decodeTotal unpacks encodeTotal's bytes.
func decodeTotal(b []byte, start, end int64, loc *time.Location) (store.Total, int64, error) {
	t := store.Total{Start: time.UnixMilli(start).In(loc), End: time.UnixMilli(end).In(loc)}
	r := rollupReader{b: b}
	stamp := r.varint()
	n, v := r.uvarint(), r.uvarint()
	if r.bad || v > n || int64(n) > (end-start)/hourMs {
		return t, 0, errBadTotal
	}
	t.Intervals, t.Valid = int(n), int(v)
	if v > 0 {
		ft := r.varint()
		if len(r.b) < 8 {
			return t, 0, errBadTotal
		}
		t.FirstValue = math.Float64frombits(binary.LittleEndian.Uint64(r.b))
		r.b = r.b[8:]
		lt := r.varint()
		if r.bad || len(r.b) < 8 {
			return t, 0, errBadTotal
		}
		t.LastValue = math.Float64frombits(binary.LittleEndian.Uint64(r.b))
		r.b = r.b[8:]
		t.FirstValid, t.LastValid = t.Start.Add(time.Duration(ft)*time.Millisecond), t.Start.Add(time.Duration(lt)*time.Millisecond)
		for _, x := range []float64{t.FirstValue, t.LastValue} {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return t, 0, errBadTotal
			}
		}
		if ft < 0 || lt < ft || lt >= end-start {
			return t, 0, errBadTotal
		}
	}
	sum, err := consumption.DecodeSum(r.b)
	if err != nil {
		return t, 0, errBadTotal
	}
	t.Sum = sum
	return t, stamp, nil
}

// headIn reports whether a head reading of t's meters has its effective
// time in [lo, hi].
func (rd *readTx) headIn(t target, lo, hi int64) bool {
	for _, mid := range t.mids {
		for _, e := range rd.hot[mid] {
			if te := aggregate.EffectiveTime(t.def.kind, e.rec.T); te >= lo && te <= hi {
				return true
			}
		}
	}
	return false
}

// dropTotals deletes, inside a compaction's write transaction, the totals
// of point whose dependency span meets [lo, hi] (device times of the
// readings being compacted), and returns the earliest start dropped (or
// lo when none).
func dropTotals(ctx context.Context, tx *sql.Tx, point string, lo, hi int64) (int64, error) {
	// An interval total's effective time is a millisecond before its
	// device time.
	earliest := lo
	for _, table := range []string{"consumption_day_totals", "consumption_month_totals"} {
		rows, err := tx.QueryContext(ctx, `DELETE FROM `+table+` WHERE point = ? AND dep_lo <= ? AND dep_hi >= ? RETURNING t_start`, point, hi, lo-1)
		if err != nil {
			return 0, fmt.Errorf("drop totals of %s: %w", point, err)
		}
		for rows.Next() {
			var t int64
			if err := rows.Scan(&t); err != nil {
				rows.Close()
				return 0, err
			}
			earliest = min(earliest, t)
		}
		if err := closeRows(rows); err != nil {
			return 0, err
		}
	}
	return earliest, nil
}

// refreshTotals computes the missing totals of the closed days of each
// point in its range [lo, hi] (Unix ms), and of the months they complete.
func (s *Store) refreshTotals(ctx context.Context, ranges map[string][2]int64) error {
	points := make([]string, 0, len(ranges))
	for p := range ranges {
		points = append(points, p)
	}
	slices.Sort(points)
	for _, p := range points {
		r := ranges[p]
		if err := s.pointTotals(ctx, p, time.UnixMilli(r[0]), time.UnixMilli(r[1])); err != nil {
			return fmt.Errorf("totals of %s: %w", p, err)
		}
	}
	return nil
}

// backfillCursor is how far the lazy back-fill has gone through the points
// since the store was opened: each compaction computes the missing totals
// of a few more points over all their compacted hours, so a store written
// before pre-totals were kept gets them without a migration step, and
// queries read hours meanwhile.
type backfillCursor struct {
	next string // the point after the last one filled
	done bool
}

// backfillPoints is the number of points one compaction back-fills.
const backfillPoints = 200

// backfillStep fills the missing totals of the next n points (under
// compactMu).
func (s *Store) backfillStep(ctx context.Context, n int) error {
	if s.backfill.done {
		return nil
	}
	if err := s.loadPoints(ctx); err != nil {
		return err
	}
	s.reg.RLock()
	var ids []string
	for p := range s.pointCache {
		if p >= s.backfill.next {
			ids = append(ids, p)
		}
	}
	s.reg.RUnlock()
	slices.Sort(ids)
	if len(ids) <= n {
		s.backfill.done = true
	} else {
		s.backfill.next = ids[n]
		ids = ids[:n]
	}
	for _, p := range ids {
		s.reg.RLock()
		var mids []int64
		if pi := s.pointCache[p]; pi != nil {
			mids = slices.Clone(pi.mids)
		}
		s.reg.RUnlock()
		lo, hi, ok, err := s.rollupRange(ctx, mids)
		if err != nil {
			return err
		}
		if ok {
			if err := s.pointTotals(ctx, p, time.UnixMilli(lo), time.UnixMilli(hi)); err != nil {
				return fmt.Errorf("totals of %s: %w", p, err)
			}
		}
	}
	return nil
}

// rollupRange returns the first and last compacted hour of the meters, as
// Unix ms.
func (s *Store) rollupRange(ctx context.Context, mids []int64) (int64, int64, bool, error) {
	var lo, hi int64
	found := false
	for _, mid := range mids {
		var a, b sql.NullInt64
		if err := s.r.QueryRowContext(ctx, `SELECT min(hour), max(hour) FROM rollups WHERE meter = ?`, mid).Scan(&a, &b); err != nil {
			return 0, 0, false, err
		}
		if !a.Valid {
			continue
		}
		if !found || a.Int64*hourMs < lo {
			lo = a.Int64 * hourMs
		}
		if !found || b.Int64*hourMs > hi {
			hi = b.Int64 * hourMs
		}
		found = true
	}
	return lo, hi, found, nil
}

// FillTotals computes the missing pre-totals of every point's closed days
// in [from, to) now, rather than a few points per compaction.
func (s *Store) FillTotals(ctx context.Context, from, to time.Time) error {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	if err := s.loadPoints(ctx); err != nil {
		return err
	}
	s.reg.RLock()
	ranges := make(map[string][2]int64, len(s.pointCache))
	for p := range s.pointCache {
		ranges[p] = [2]int64{from.UnixMilli(), to.UnixMilli() - 1}
	}
	s.reg.RUnlock()
	return s.refreshTotals(ctx, ranges)
}

// pointTotals computes and writes the totals of one point's delta channels
// over the local days from the one holding `from` to the one holding `to`.
func (s *Store) pointTotals(ctx context.Context, point string, from, to time.Time) error {
	loc := s.opt.Location
	y, m, d := from.In(loc).Date()
	a := time.Date(y, m, d, 0, 0, 0, 0, loc)
	y, m, d = to.In(loc).Date()
	b := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	s.reg.RLock()
	pi := s.pointCache[point]
	var chans []meter.Channel
	if pi != nil {
		chans = slices.Clone(pi.channels)
	}
	s.reg.RUnlock()
	for _, c := range chans {
		if c.Kind != meter.Total && c.Kind != meter.Interval {
			continue
		}
		if err := s.seriesTotals(ctx, store.Series{Point: point, Channel: c.Name}, a, b); err != nil {
			return err
		}
	}
	return nil
}

// seriesTotals computes a series' day totals over the local days [a, b)
// that have none, writes the closed ones, then the months they complete.
func (s *Store) seriesTotals(ctx context.Context, ser store.Series, a, b time.Time) error {
	t, err := s.resolve(ctx, ser)
	if err != nil || !t.known || len(t.mids) == 0 {
		return err
	}
	loc := s.opt.Location
	stamp := aggregate.Stamp(t.mids, int64(t.cid), t.def.kind, t.def.ctr.Modulus)
	rd, err := s.beginRead(ctx, t.mids)
	if err != nil {
		return err
	}
	have := map[int64]bool{}
	rows, err := rd.query(qTotals, ser.Point, t.cid, a.UnixMilli(), b.UnixMilli())
	if err == nil {
		for rows.Next() {
			tot, st, _, _, err := scanTotal(rows, loc)
			if err != nil {
				rows.Close()
				rd.close()
				return err
			}
			if st == stamp && tot.End.Sub(tot.Start) <= 25*time.Hour {
				have[tot.Start.UnixMilli()] = true
			}
		}
		err = closeRows(rows)
	}
	if err != nil {
		rd.close()
		return err
	}
	// Every day has its total (a store reopened for a back-fill): nothing
	// to compute, and no spans to read.
	missing := false
	for day := a; day.Before(b) && !missing; day = day.AddDate(0, 0, 1) {
		missing = !have[day.UnixMilli()]
	}
	if !missing {
		rd.close()
		return nil
	}
	// The meters' compacted hours, for the dependency spans.
	spans := make([][]aggregate.Span, len(t.mids))
	for i, mid := range t.mids {
		if spans[i], err = rd.spans(mid, t.cid, a.UnixMilli(), b.UnixMilli()); err != nil {
			rd.close()
			return err
		}
	}
	rd.close()
	// Closed days without a total, in runs read with one query each.
	days, err := aggregate.ClosedDays(a, b, loc, func(start int64) bool { return have[start] }, spans,
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
	hot := s.head.snapshot(t.mids)
	var write []aggregate.SpanTotal
	for _, d := range days {
		if !(&readTx{hot: hot}).headIn(t, d.Lo, d.Hi) { // else waiting for a head reading
			write = append(write, d)
		}
	}
	if len(write) == 0 {
		return nil
	}
	return s.withWrite(ctx, func(tx *sql.Tx) error {
		const cols = `(point, cid, t_start, t_end, dep_lo, dep_hi, data) VALUES (?, ?, ?, ?, ?, ?, ?)`
		insDay, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO consumption_day_totals`+cols)
		if err != nil {
			return err
		}
		defer insDay.Close()
		insMonth, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO consumption_month_totals`+cols)
		if err != nil {
			return err
		}
		defer insMonth.Close()
		put := func(r aggregate.SpanTotal) error {
			ins := insDay
			if r.End.Sub(r.Start) > 25*time.Hour {
				ins = insMonth
			}
			_, err := ins.ExecContext(ctx, ser.Point, t.cid, r.Start.UnixMilli(), r.End.UnixMilli(), r.Lo, r.Hi, encodeTotal(stamp, r.Total))
			return err
		}
		months := map[int64]time.Time{}
		for _, r := range write {
			if err := put(r); err != nil {
				return err
			}
			y, m, _ := r.Start.In(loc).Date()
			first := time.Date(y, m, 1, 0, 0, 0, 0, loc)
			months[first.UnixMilli()] = first
		}
		// Months whose days are all there now.
		for _, first := range months {
			next := first.AddDate(0, 1, 0)
			rows, err := tx.QueryContext(ctx, qTotals, ser.Point, t.cid, first.UnixMilli(), next.UnixMilli())
			if err != nil {
				return err
			}
			var days []aggregate.SpanTotal
			for rows.Next() {
				tot, st, lo, hi, err := scanTotal(rows, loc)
				if err != nil {
					rows.Close()
					return err
				}
				if st == stamp {
					days = append(days, aggregate.SpanTotal{Total: tot, Lo: lo, Hi: hi})
				}
			}
			if err := closeRows(rows); err != nil {
				return err
			}
			slices.SortFunc(days, func(x, y aggregate.SpanTotal) int { return x.Start.Compare(y.Start) })
			if mt, ok := aggregate.MonthOf(days, loc); ok {
				if err := put(mt); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// spans lists a meter's compacted hour summaries of channel cid over
// [a, b) and the nearest one on each side, as (first, last) effective
// times.
func (rd *readTx) spans(mid int64, cid uint32, a, b int64) ([]aggregate.Span, error) {
	h0, h1 := floorDiv(a, hourMs), ceilDiv(b, hourMs)
	var out []aggregate.Span
	read := func(q string, args ...any) error {
		rows, err := rd.query(q, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var h int64
			var data sql.RawBytes
			if q == qRollupRange {
				var seq int64
				err = rows.Scan(&h, &seq, &data)
			} else {
				err = rows.Scan(&h, &data)
			}
			if err != nil {
				rows.Close()
				return err
			}
			es, err := decodeRollup(data, h*hourMs, cid)
			if err != nil {
				rows.Close()
				return fmt.Errorf("meter %d %s: %w", mid, fmtHour(h), err)
			}
			if len(es) > 0 {
				out = append(out, aggregate.Span{FirstT: es[0].FirstT, LastT: es[0].LastT})
				if q != qRollupRange {
					break
				}
			}
		}
		return closeRows(rows)
	}
	if err := read(qRollupBefore, mid, h0); err != nil {
		return nil, err
	}
	if err := read(qRollupRange, mid, h0, h1); err != nil {
		return nil, err
	}
	if err := read(qRollupAfter, mid, h1); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(x, y aggregate.Span) int { return cmp.Compare(x.FirstT, y.FirstT) })
	return out, nil
}
