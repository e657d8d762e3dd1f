package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/aggregate"
	"github.com/shuixiao/shuixiao/meter"
)

var _ store.Compacter = (*Store)(nil)

// markDirty records, in the commit's transaction, the meter-hours the
// batch's readings fall in (a reading stamped on the hour belongs to the
// hour before for interval channels, so both are marked).
func markDirty(ctx context.Context, tx pgx.Tx, rows []row) error {
	type key struct {
		mid  int32
		hour int64
	}
	seen := map[key]bool{}
	var mids []int32
	var hours []int64
	for i := range rows {
		for _, h := range []int64{floorDiv(rows[i].t, hourMs), floorDiv(rows[i].t-1, hourMs)} {
			if k := (key{rows[i].mid, h}); !seen[k] {
				seen[k] = true
				mids, hours = append(mids, k.mid), append(hours, k.hour)
			}
		}
	}
	if len(mids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO rollup_dirty(meter, hour) SELECT * FROM unnest($1::integer[], $2::bigint[]) ON CONFLICT DO NOTHING`, mids, hours)
	if err != nil {
		return fmt.Errorf("mark rollups: %w", err)
	}
	return nil
}

// Compact implements store.Compacter: it builds the summaries of every
// meter-hour whose readings changed, now.
func (s *Store) Compact(ctx context.Context) error {
	for {
		n, err := s.buildRollups(ctx, 1<<62, 500)
		if err != nil {
			return err
		}
		if n == 0 {
			return s.refreshTotals(ctx)
		}
	}
}

// rollupLoop builds the summaries of hours that have ended, every interval,
// until stop is closed.
func (s *Store) rollupLoop(every time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		current := floorDiv(time.Now().UnixMilli(), hourMs)
		for {
			n, err := s.buildRollups(context.Background(), current, 200)
			if err != nil {
				s.opt.Logf("postgres: build rollups: %v", err)
				break
			}
			if n == 0 {
				break
			}
			select {
			case <-stop:
				return
			default:
			}
		}
		if err := s.refreshTotals(context.Background()); err != nil {
			s.opt.Logf("postgres: consumption totals: %v", err)
		}
	}
}

// buildRollups rebuilds up to limit dirty meter-hours before hour `before`
// in one transaction, under the write lock so that commits and builds do
// not interleave inside one hour; it returns how many it built.
func (s *Store) buildRollups(ctx context.Context, before int64, limit int) (int, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	built := 0
	err := s.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT d.meter, d.hour, m.point FROM rollup_dirty d JOIN meters m ON m.mid = d.meter
			WHERE d.hour < $1 ORDER BY d.meter, d.hour LIMIT $2`, before, limit)
		if err != nil {
			return err
		}
		type work struct {
			mid   int32
			hour  int64
			point string
		}
		ws, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (work, error) {
			var w work
			return w, r.Scan(&w.mid, &w.hour, &w.point)
		})
		if err != nil {
			return err
		}
		defs := map[string]map[int32]chanDef{}
		for _, w := range ws {
			d, ok := defs[w.point]
			if !ok {
				if d, err = s.channelDefs(ctx, w.point); err != nil {
					return err
				}
				defs[w.point] = d
			}
			if err := s.buildHour(ctx, tx, w.mid, w.hour, d); err != nil {
				return err
			}
			if err := s.dropTotals(ctx, tx, w.point, w.hour); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM rollup_dirty WHERE meter = $1 AND hour = $2`, w.mid, w.hour); err != nil {
				return err
			}
		}
		built = len(ws)
		return nil
	})
	return built, err
}

// chanDef is what aggregation needs to know of a channel.
type chanDef struct {
	kind meter.Kind
	ctr  aggregate.Counter
}

// rateDef is assumed for channels a point does not declare.
var rateDef = chanDef{kind: meter.Rate}

// channelDefs maps a point's channel numbers to their definitions.
func (s *Store) channelDefs(ctx context.Context, point string) (map[int32]chanDef, error) {
	chans, err := s.pointChannels(ctx, point)
	if err != nil {
		return nil, err
	}
	out := map[int32]chanDef{}
	s.reg.RLock()
	defer s.reg.RUnlock()
	for _, c := range chans {
		if cid, ok := s.chanID[c.Name]; ok {
			out[cid] = chanDef{kind: c.Kind, ctr: aggregate.CounterFor(c)}
		}
	}
	return out, nil
}

func lookupDef(defs map[int32]chanDef, cid int32) chanDef {
	if d, ok := defs[cid]; ok {
		return d
	}
	return rateDef
}

// buildHour replaces the summaries of one meter-hour with ones built from
// its readings.
func (s *Store) buildHour(ctx context.Context, tx pgx.Tx, mid int32, hour int64, defs map[int32]chanDef) error {
	rows, err := tx.Query(ctx, `SELECT t, seq, cids, vals FROM readings WHERE meter = $1 AND t >= $2 AND t <= $3`,
		mid, hour*hourMs, (hour+1)*hourMs)
	if err != nil {
		return err
	}
	byChan := map[int32][]aggregate.Point{}
	for rows.Next() {
		var t, seq int64
		var cids []int32
		var vals []float64
		if err := rows.Scan(&t, &seq, &cids, &vals); err != nil {
			rows.Close()
			return err
		}
		for i, c := range cids {
			te := aggregate.EffectiveTime(lookupDef(defs, c).kind, t)
			if floorDiv(te, hourMs) == hour {
				byChan[c] = append(byChan[c], aggregate.Point{T: te, V: vals[i], Seq: uint64(seq)})
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM rollups WHERE meter = $1 AND hour = $2`, mid, hour); err != nil {
		return err
	}
	cids := make([]int32, 0, len(byChan))
	for c := range byChan {
		cids = append(cids, c)
	}
	slices.Sort(cids)
	for _, c := range cids {
		d := lookupDef(defs, c)
		sm := aggregate.Summarize(aggregate.SortDedup(byChan[c]), d.ctr)
		if _, err := tx.Exec(ctx, `INSERT INTO rollups(meter, hour, cid, kind, modulus, n, sum, min, max, first_t, first, last_t, last, inc)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			mid, hour, c, string(d.kind), d.ctr.Modulus, sm.N, sm.Sum, sm.Min, sm.Max, sm.FirstT, sm.First, sm.LastT, sm.Last, sm.Inc); err != nil {
			return err
		}
	}
	return nil
}

// hourSummaries reads, in one query, the usable summaries of each unit's
// meter and channel over hours [h0, h1): built under the channel's current
// definition (its target's) and not dirty. The other hours of the range
// must be read from the readings. out[k] is unit k's, by hour.
func hourSummaries(ctx context.Context, tx pgx.Tx, ts []target, us []unit, h0, h1 int64) ([]map[int64]aggregate.Summary, error) {
	out := make([]map[int64]aggregate.Summary, len(us))
	if len(us) == 0 {
		return out, nil
	}
	idx := make([]int32, len(us))
	mids, cids := make([]int32, len(us)), make([]int32, len(us))
	for k, u := range us {
		idx[k], mids[k], cids[k] = int32(k), u.mid, u.cid
	}
	rows, err := tx.Query(ctx, `SELECT u.k, r.hour, r.kind, r.modulus, r.n, r.sum, r.min, r.max, r.first_t, r.first, r.last_t, r.last, r.inc
		FROM unnest($1::integer[], $2::integer[], $3::integer[]) AS u(k, meter, cid)
		JOIN rollups r ON r.meter = u.meter AND r.cid = u.cid AND r.hour >= $4 AND r.hour < $5
		WHERE NOT EXISTS (SELECT 1 FROM rollup_dirty d WHERE d.meter = r.meter AND d.hour = r.hour)`, idx, mids, cids, h0, h1)
	if err != nil {
		return nil, fmt.Errorf("read rollups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k int32
		var h int64
		var kind string
		var mod float64
		var sm aggregate.Summary
		if err := rows.Scan(&k, &h, &kind, &mod, &sm.N, &sm.Sum, &sm.Min, &sm.Max, &sm.FirstT, &sm.First, &sm.LastT, &sm.Last, &sm.Inc); err != nil {
			return nil, fmt.Errorf("read rollups: %w", err)
		}
		t := ts[us[k].t]
		if meter.Kind(kind) == t.kind && mod == t.ctr.Modulus {
			if out[k] == nil {
				out[k] = map[int64]aggregate.Summary{}
			}
			out[k][h] = sm
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read rollups: %w", err)
	}
	return out, nil
}
