package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

// where builds a WHERE clause with numbered parameters from conditions
// whose value is not empty; a condition's "?" becomes its parameter.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, v any) {
	switch x := v.(type) {
	case string:
		if x == "" {
			return
		}
	case meter.Stage:
		if x == "" {
			return
		}
	case meter.Level:
		if x == 0 {
			return
		}
	}
	w.addAlways(cond, v)
}

// addAlways adds a condition with one or more "?" taking the same value.
func (w *where) addAlways(cond string, v any) {
	w.args = append(w.args, v)
	w.conds = append(w.conds, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(w.args))))
}

// next is the placeholder of the parameter added after the conditions.
func (w *where) next(v any) string {
	w.args = append(w.args, v)
	return fmt.Sprintf("$%d", len(w.args))
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// put writes a registry row after checking that the key is free (create)
// or taken (update).
func (s *Store) put(ctx context.Context, create bool, what, table, key string, check func(tx pgx.Tx) error, write func(tx pgx.Tx) error) error {
	return s.withWrite(ctx, func(tx pgx.Tx) error { return putTx(ctx, tx, create, what, table, key, check, write) })
}

// putTx is put inside the transaction tx.
func putTx(ctx context.Context, tx pgx.Tx, create bool, what, table, key string, check func(tx pgx.Tx) error, write func(tx pgx.Tx) error) error {
	err := func() error {
		col := "id"
		if table == "regions" {
			col = "code"
		}
		ok, err := exists(ctx, tx, table, col, key)
		switch {
		case err != nil:
			return err
		case create && ok:
			return store.ErrExists
		case !create && !ok:
			return store.ErrNotFound
		}
		if check != nil {
			if err := check(tx); err != nil {
				return err
			}
		}
		return write(tx)
	}()
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, key, err)
	}
	return nil
}

// mustRef fails with ErrNotFound unless the row exists.
func mustRef(ctx context.Context, tx pgx.Tx, table, what, id string) error {
	ok, err := exists(ctx, tx, table, "id", id)
	if err == nil && !ok {
		err = fmt.Errorf("%s %s: %w", what, id, store.ErrNotFound)
	}
	return err
}

// CreateRegion implements store.Registry.
func (s *Store) CreateRegion(ctx context.Context, r meter.Region) error {
	return s.putRegion(ctx, true, r)
}

// UpdateRegion implements store.Registry.
func (s *Store) UpdateRegion(ctx context.Context, r meter.Region) error {
	return s.putRegion(ctx, false, r)
}

func (s *Store) putRegion(ctx context.Context, create bool, r meter.Region) error {
	if err := store.ValidRegion(r); err != nil {
		return err
	}
	return s.put(ctx, create, "region", "regions", r.Code, nil, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO regions(code, name, name_en, parent) VALUES ($1, $2, $3, $4)
			ON CONFLICT (code) DO UPDATE SET name = excluded.name, name_en = excluded.name_en, parent = excluded.parent`,
			r.Code, r.Name, r.NameEN, r.Parent)
		return err
	})
}

// Region implements store.Registry.
func (s *Store) Region(ctx context.Context, code string) (meter.Region, error) {
	w := &where{}
	w.addAlways("code = ?", code)
	rs, err := s.regions(ctx, w)
	if err != nil {
		return meter.Region{}, err
	}
	if len(rs) == 0 {
		return meter.Region{}, fmt.Errorf("region %s: %w", code, store.ErrNotFound)
	}
	return rs[0], nil
}

// Regions implements store.Registry.
func (s *Store) Regions(ctx context.Context) ([]meter.Region, error) { return s.regions(ctx, &where{}) }

func (s *Store) regions(ctx context.Context, w *where) ([]meter.Region, error) {
	return list(ctx, s, "regions", `SELECT code, name, name_en, parent FROM regions`+w.String()+` ORDER BY code`, w.args,
		func(r pgx.Rows) (meter.Region, error) {
			var x meter.Region
			err := r.Scan(&x.Code, &x.Name, &x.NameEN, &x.Parent)
			return x, err
		})
}

// list runs a query and scans every row.
func list[T any](ctx context.Context, s *Store, what, sql string, args []any, scan func(pgx.Rows) (T, error)) ([]T, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	return out, nil
}

// CreatePark implements store.Registry.
func (s *Store) CreatePark(ctx context.Context, p meter.Park) error { return s.putPark(ctx, true, p) }

// UpdatePark implements store.Registry.
func (s *Store) UpdatePark(ctx context.Context, p meter.Park) error { return s.putPark(ctx, false, p) }

func (s *Store) putPark(ctx context.Context, create bool, p meter.Park) error {
	if err := store.ValidPark(p); err != nil {
		return err
	}
	ind, _ := json.Marshal(p.Industries)
	return s.put(ctx, create, "park", "parks", p.ID, nil, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO parks(id, name, name_en, region, industries, lat, lon) VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, name_en = excluded.name_en, region = excluded.region,
				industries = excluded.industries, lat = excluded.lat, lon = excluded.lon`,
			p.ID, p.Name, p.NameEN, p.Region, string(ind), p.Lat, p.Lon)
		return err
	})
}

// Park implements store.Registry.
func (s *Store) Park(ctx context.Context, id string) (meter.Park, error) {
	w := &where{}
	w.addAlways("id = ?", id)
	ps, err := s.parks(ctx, w)
	if err != nil {
		return meter.Park{}, err
	}
	if len(ps) == 0 {
		return meter.Park{}, fmt.Errorf("park %s: %w", id, store.ErrNotFound)
	}
	return ps[0], nil
}

// Parks implements store.Registry: Region, Park and Enterprise filter.
func (s *Store) Parks(ctx context.Context, f store.Filter) ([]meter.Park, error) {
	w := &where{}
	w.add("region LIKE ?", store.RegionPrefix(f.Region))
	w.add("id = ?", f.Park)
	w.add("id = (SELECT park FROM enterprises WHERE id = ?)", f.Enterprise)
	return s.parks(ctx, w)
}

func (s *Store) parks(ctx context.Context, w *where) ([]meter.Park, error) {
	return list(ctx, s, "parks", `SELECT id, name, name_en, region, industries::text, lat, lon FROM parks`+w.String()+` ORDER BY id`, w.args,
		func(r pgx.Rows) (meter.Park, error) {
			var p meter.Park
			var ind string
			if err := r.Scan(&p.ID, &p.Name, &p.NameEN, &p.Region, &ind, &p.Lat, &p.Lon); err != nil {
				return p, err
			}
			if err := json.Unmarshal([]byte(ind), &p.Industries); err != nil {
				return p, fmt.Errorf("park %s industries: %w", p.ID, err)
			}
			return p, nil
		})
}

// CreateEnterprise implements store.Registry.
func (s *Store) CreateEnterprise(ctx context.Context, e meter.Enterprise) error {
	return s.putEnterprise(ctx, true, e)
}

// UpdateEnterprise implements store.Registry.
func (s *Store) UpdateEnterprise(ctx context.Context, e meter.Enterprise) error {
	return s.putEnterprise(ctx, false, e)
}

func (s *Store) putEnterprise(ctx context.Context, create bool, e meter.Enterprise) error {
	if err := store.ValidEnterprise(e); err != nil {
		return err
	}
	check := func(tx pgx.Tx) error {
		if e.Park == "" {
			return nil
		}
		return mustRef(ctx, tx, "parks", "park", e.Park)
	}
	prod, _ := json.Marshal(e.Products)
	return s.put(ctx, create, "enterprise", "enterprises", e.ID, check, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO enterprises(id, name, name_en, park, region, industry, products, above_scale) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, name_en = excluded.name_en, park = excluded.park,
				region = excluded.region, industry = excluded.industry, products = excluded.products, above_scale = excluded.above_scale`,
			e.ID, e.Name, e.NameEN, e.Park, e.Region, e.Industry, string(prod), e.AboveScale)
		return err
	})
}

// Enterprise implements store.Registry.
func (s *Store) Enterprise(ctx context.Context, id string) (meter.Enterprise, error) {
	w := &where{}
	w.addAlways("id = ?", id)
	es, err := s.enterprises(ctx, w)
	if err != nil {
		return meter.Enterprise{}, err
	}
	if len(es) == 0 {
		return meter.Enterprise{}, fmt.Errorf("enterprise %s: %w", id, store.ErrNotFound)
	}
	return es[0], nil
}

// Enterprises implements store.Registry: Region, Park and Enterprise filter.
func (s *Store) Enterprises(ctx context.Context, f store.Filter) ([]meter.Enterprise, error) {
	w := &where{}
	w.add("region LIKE ?", store.RegionPrefix(f.Region))
	w.add("park = ?", f.Park)
	w.add("id = ?", f.Enterprise)
	return s.enterprises(ctx, w)
}

func (s *Store) enterprises(ctx context.Context, w *where) ([]meter.Enterprise, error) {
	return list(ctx, s, "enterprises", `SELECT id, name, name_en, park, region, industry, products::text, above_scale FROM enterprises`+w.String()+` ORDER BY id`, w.args,
		func(r pgx.Rows) (meter.Enterprise, error) {
			var e meter.Enterprise
			var prod string
			if err := r.Scan(&e.ID, &e.Name, &e.NameEN, &e.Park, &e.Region, &e.Industry, &prod, &e.AboveScale); err != nil {
				return e, err
			}
			if err := json.Unmarshal([]byte(prod), &e.Products); err != nil {
				return e, fmt.Errorf("enterprise %s products: %w", e.ID, err)
			}
			return e, nil
		})
}

// pointRoles is how a point's balance roles are kept (column roles, NULL
// for none), the same object store/sqlite keeps.
type pointRoles struct {
	Purpose meter.Purpose   `json:"purpose,omitempty"`
	Reuse   meter.ReuseKind `json:"reuse,omitempty"`
	From    string          `json:"from,omitempty"`
	Outflow meter.Outflow   `json:"outflow,omitempty"`
}

// CreatePoint implements store.Registry.
func (s *Store) CreatePoint(ctx context.Context, p meter.Point) error {
	return s.putPoint(ctx, true, p)
}

// UpdatePoint implements store.Registry.
func (s *Store) UpdatePoint(ctx context.Context, p meter.Point) error {
	return s.putPoint(ctx, false, p)
}

func (s *Store) putPoint(ctx context.Context, create bool, p meter.Point) error {
	return s.withWrite(ctx, func(tx pgx.Tx) error { return putPointTx(ctx, tx, create, p) })
}

// CreatePoints implements store.BulkRegistry: the inserts go in one
// pipelined batch (one round trip, not three a point), each inserting only
// if the point is new, its enterprise exists and its parent, if any, is a
// point of that enterprise stored before it (so no parent chain can loop).
func (s *Store) CreatePoints(ctx context.Context, ps []meter.Point) error {
	b := &pgx.Batch{}
	for _, p := range ps {
		if err := store.ValidPoint(p); err != nil {
			return err
		}
		chans, roles := pointColumns(p)
		b.Queue(`INSERT INTO points(id, enterprise, name, name_en, level, stage, source, parent, channels, roles)
			SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
			WHERE EXISTS (SELECT 1 FROM enterprises WHERE id = $2)
				AND ($8 = '' OR EXISTS (SELECT 1 FROM points WHERE id = $8 AND enterprise = $2))
			ON CONFLICT (id) DO NOTHING`,
			p.ID, p.Enterprise, p.Name, p.NameEN, int(p.Level), string(p.Stage), string(p.Source), p.Parent, chans, roles)
	}
	return s.withWrite(ctx, func(tx pgx.Tx) error {
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		for _, p := range ps {
			tag, err := br.Exec()
			if err != nil {
				return fmt.Errorf("point %s: %w", p.ID, err)
			}
			if tag.RowsAffected() != 1 {
				return fmt.Errorf("point %s: %w: it exists, or its enterprise or parent does not", p.ID, store.ErrConflict)
			}
		}
		return br.Close()
	})
}

// pointColumns are a point's channels and roles as stored (roles NULL for
// none).
func pointColumns(p meter.Point) (string, any) {
	chans, _ := json.Marshal(p.Channels)
	var roles any
	if r := (pointRoles{Purpose: p.Purpose, Reuse: p.Reuse, From: p.From, Outflow: p.Outflow}); r != (pointRoles{}) {
		b, _ := json.Marshal(r)
		roles = string(b)
	}
	return string(chans), roles
}

// putPointTx writes a point inside the transaction tx.
func putPointTx(ctx context.Context, tx pgx.Tx, create bool, p meter.Point) error {
	if err := store.ValidPoint(p); err != nil {
		return err
	}
	check := func(tx pgx.Tx) error {
		if err := mustRef(ctx, tx, "enterprises", "enterprise", p.Enterprise); err != nil {
			return err
		}
		// The parent chain must stay inside the enterprise and not loop.
		for up, depth := p.Parent, 0; up != ""; depth++ {
			if up == p.ID || depth > 16 {
				return fmt.Errorf("%w: parent chain loops", store.ErrInvalid)
			}
			var ent, next string
			err := tx.QueryRow(ctx, `SELECT enterprise, parent FROM points WHERE id = $1`, up).Scan(&ent, &next)
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("parent %s: %w", up, store.ErrNotFound)
			}
			if err != nil {
				return err
			}
			if ent != p.Enterprise {
				return fmt.Errorf("%w: parent %s belongs to enterprise %s", store.ErrInvalid, up, ent)
			}
			up = next
		}
		return nil
	}
	chans, roles := pointColumns(p)
	return putTx(ctx, tx, create, "point", "points", p.ID, check, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO points(id, enterprise, name, name_en, level, stage, source, parent, channels, roles)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (id) DO UPDATE SET enterprise = excluded.enterprise, name = excluded.name, name_en = excluded.name_en,
				level = excluded.level, stage = excluded.stage, source = excluded.source, parent = excluded.parent,
				channels = excluded.channels, roles = excluded.roles`,
			p.ID, p.Enterprise, p.Name, p.NameEN, int(p.Level), string(p.Stage), string(p.Source), p.Parent, chans, roles)
		return err
	})
}

// Point implements store.Registry.
func (s *Store) Point(ctx context.Context, id string) (meter.Point, error) {
	w := &where{}
	w.addAlways("p.id = ?", id)
	ps, err := s.points(ctx, w)
	if err != nil {
		return meter.Point{}, err
	}
	if len(ps) == 0 {
		return meter.Point{}, fmt.Errorf("point %s: %w", id, store.ErrNotFound)
	}
	return ps[0], nil
}

// Points implements store.Registry: every Filter field applies.
func (s *Store) Points(ctx context.Context, f store.Filter) ([]meter.Point, error) {
	w := &where{}
	w.add("e.region LIKE ?", store.RegionPrefix(f.Region))
	w.add("e.park = ?", f.Park)
	w.add("p.enterprise = ?", f.Enterprise)
	w.add("p.id = ?", f.Point)
	w.add("p.stage = ?", f.Stage)
	if f.Level != 0 {
		w.addAlways("p.level = ?", int(f.Level))
	}
	return s.points(ctx, w)
}

func (s *Store) points(ctx context.Context, w *where) ([]meter.Point, error) {
	return list(ctx, s, "points", `SELECT p.id, p.enterprise, p.name, p.name_en, p.level, p.stage, p.source, p.parent, p.channels::text, COALESCE(p.roles::text, '')
		FROM points p JOIN enterprises e ON e.id = p.enterprise`+w.String()+` ORDER BY p.id`, w.args,
		func(r pgx.Rows) (meter.Point, error) {
			var p meter.Point
			var level int
			var stage, source, roles string
			var chans []byte
			if err := r.Scan(&p.ID, &p.Enterprise, &p.Name, &p.NameEN, &level, &stage, &source, &p.Parent, &chans, &roles); err != nil {
				return p, err
			}
			p.Level, p.Stage, p.Source = meter.Level(level), meter.Stage(stage), meter.Source(source)
			cs, err := s.chanSets.decode(chans)
			if err != nil {
				return p, fmt.Errorf("point %s channels: %w", p.ID, err)
			}
			p.Channels = slices.Clone(cs) // the caller's own
			if roles != "" {
				var pr pointRoles
				if err := json.Unmarshal([]byte(roles), &pr); err != nil {
					return p, fmt.Errorf("point %s roles: %w", p.ID, err)
				}
				p.Purpose, p.Reuse, p.From, p.Outflow = pr.Purpose, pr.Reuse, pr.From, pr.Outflow
			}
			return p, nil
		})
}

// pointChannels returns a point's channels (for the kind and rollover of a
// series).
func (s *Store) pointChannels(ctx context.Context, id string) ([]meter.Channel, error) {
	var chans string
	err := s.pool.QueryRow(ctx, `SELECT channels::text FROM points WHERE id = $1`, id).Scan(&chans)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("point %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	var out []meter.Channel
	if err := json.Unmarshal([]byte(chans), &out); err != nil {
		return nil, fmt.Errorf("point %s channels: %w", id, err)
	}
	return out, nil
}

// pointsChannels returns the channels of the points of ids that exist, by
// point ID, in one query. Points with the same channels share one slice,
// decoded once (channelSets): the caller must not modify it.
func (s *Store) pointsChannels(ctx context.Context, db q, ids []string) (map[string][]meter.Channel, error) {
	out := make(map[string][]meter.Channel, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := db.Query(ctx, `SELECT id, channels::text FROM points WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("read point channels: %w", err)
	}
	defer rows.Close()
	var id string
	var chans []byte
	for rows.Next() {
		if err := rows.Scan(&id, &chans); err != nil {
			return nil, fmt.Errorf("read point channels: %w", err)
		}
		cs, err := s.chanSets.decode(chans)
		if err != nil {
			return nil, fmt.Errorf("point %s channels: %w", id, err)
		}
		out[id] = cs
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read point channels: %w", err)
	}
	return out, nil
}

// CreateMeter implements store.Registry.
func (s *Store) CreateMeter(ctx context.Context, m meter.Meter) error {
	if m.Registered.IsZero() {
		m.Registered = time.Now()
	}
	return s.putMeter(ctx, true, m)
}

// UpdateMeter implements store.Registry.
func (s *Store) UpdateMeter(ctx context.Context, m meter.Meter) error {
	return s.putMeter(ctx, false, m)
}

func (s *Store) putMeter(ctx context.Context, create bool, m meter.Meter) error {
	var mid int32
	err := s.withWrite(ctx, func(tx pgx.Tx) (err error) {
		mid, err = putMeterTx(ctx, tx, create, m)
		return err
	})
	if err != nil {
		return err
	}
	s.cacheMeter(m, mid)
	return nil
}

// CreateMeters implements store.BulkRegistry: the inserts go in one
// pipelined batch, each inserting only if the meter is new and its point
// exists, then the secrets in the same transaction.
func (s *Store) CreateMeters(ctx context.Context, meters []meter.Meter, secrets []store.DeviceSecret) error {
	b := &pgx.Batch{}
	for i := range meters {
		m := &meters[i]
		if err := store.ValidMeter(*m); err != nil {
			return err
		}
		b.Queue(`INSERT INTO meters(id, point, serial, model, key, signed, revoked, registered, interval_ms, gateway, collector)
			SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 WHERE EXISTS (SELECT 1 FROM points WHERE id = $2)
			ON CONFLICT (id) DO NOTHING RETURNING mid`,
			m.ID, m.Point, m.Serial, m.Model, m.Key, string(m.Signed), m.Revoked, ms(m.Registered), m.Interval.Milliseconds(), m.Gateway, m.Collector)
	}
	mids := make([]int32, len(meters))
	err := s.withWrite(ctx, func(tx pgx.Tx) error {
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		for i, m := range meters {
			err := br.QueryRow().Scan(&mids[i])
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("meter %s: %w: it exists, or its point does not", m.ID, store.ErrConflict)
			}
			if err != nil {
				return fmt.Errorf("meter %s: %w", m.ID, err)
			}
		}
		if err := br.Close(); err != nil {
			return err
		}
		return setDeviceSecretsTx(ctx, tx, secrets)
	})
	if err != nil {
		return err
	}
	for i, m := range meters {
		s.cacheMeter(m, mids[i])
	}
	return nil
}

// putMeterTx writes a meter inside the transaction tx and returns its mid.
func putMeterTx(ctx context.Context, tx pgx.Tx, create bool, m meter.Meter) (int32, error) {
	if err := store.ValidMeter(m); err != nil {
		return 0, err
	}
	check := func(tx pgx.Tx) error { return mustRef(ctx, tx, "points", "point", m.Point) }
	var mid int32
	err := putTx(ctx, tx, create, "meter", "meters", m.ID, check, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO meters(id, point, serial, model, key, signed, revoked, registered, interval_ms, gateway, collector)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (id) DO UPDATE SET point = excluded.point, serial = excluded.serial, model = excluded.model, key = excluded.key,
				signed = excluded.signed, revoked = excluded.revoked, registered = excluded.registered, interval_ms = excluded.interval_ms,
				gateway = excluded.gateway, collector = excluded.collector
			RETURNING mid`,
			m.ID, m.Point, m.Serial, m.Model, m.Key, string(m.Signed), m.Revoked, ms(m.Registered), m.Interval.Milliseconds(), m.Gateway, m.Collector).Scan(&mid)
	})
	return mid, err
}

// cacheMeter follows a written meter in the meter cache.
func (s *Store) cacheMeter(m meter.Meter, mid int32) {
	s.reg.Lock()
	s.putMeterInfo(&meterInfo{mid: mid, id: m.ID, point: m.Point})
	s.reg.Unlock()
}

// Meter implements store.Registry.
func (s *Store) Meter(ctx context.Context, id string) (meter.Meter, error) {
	w := &where{}
	w.addAlways("m.id = ?", id)
	ms, err := s.metersWhere(ctx, w)
	if err != nil {
		return meter.Meter{}, err
	}
	if len(ms) == 0 {
		return meter.Meter{}, fmt.Errorf("meter %s: %w", id, store.ErrNotFound)
	}
	return ms[0], nil
}

// Meters implements store.Registry: every Filter field applies.
func (s *Store) Meters(ctx context.Context, f store.Filter) ([]meter.Meter, error) {
	w := &where{}
	w.add("e.region LIKE ?", store.RegionPrefix(f.Region))
	w.add("e.park = ?", f.Park)
	w.add("p.enterprise = ?", f.Enterprise)
	w.add("m.point = ?", f.Point)
	w.add("p.stage = ?", f.Stage)
	if f.Level != 0 {
		w.addAlways("p.level = ?", int(f.Level))
	}
	return s.metersWhere(ctx, w)
}

func (s *Store) metersWhere(ctx context.Context, w *where) ([]meter.Meter, error) {
	return list(ctx, s, "meters", `SELECT m.id, m.point, m.serial, m.model, m.key, m.signed, m.revoked, m.registered, m.interval_ms, m.gateway, m.collector
		FROM meters m JOIN points p ON p.id = m.point JOIN enterprises e ON e.id = p.enterprise`+w.String()+` ORDER BY m.id`, w.args,
		func(r pgx.Rows) (meter.Meter, error) {
			var m meter.Meter
			var signed string
			var reg, iv int64
			err := r.Scan(&m.ID, &m.Point, &m.Serial, &m.Model, &m.Key, &signed, &m.Revoked, &reg, &iv, &m.Gateway, &m.Collector)
			m.Signed, m.Registered, m.Interval = meter.SigningSite(signed), utc(reg), time.Duration(iv)*time.Millisecond
			return m, err
		})
}

// RevokeMeter implements store.Registry.
func (s *Store) RevokeMeter(ctx context.Context, id string) error {
	err := s.withWrite(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE meters SET revoked = true WHERE id = $1`, id)
		if err == nil && tag.RowsAffected() == 0 {
			err = store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("revoke meter %s: %w", id, err)
	}
	return nil
}

// channelSets are channel lists as decoded from the JSON text the points
// table holds, keyed by that text. Decoding is a function of the text
// alone, so no write needs to clear them, and points mostly share a few
// channel sets: a roll-up resolves every series' point once per store
// read (several reads a computation), and decoding the same JSON again
// was a third of its CPU (bench province).
type channelSets struct {
	mu sync.Mutex
	m  map[string][]meter.Channel
}

// maxChannelSets bounds the distinct channel sets kept: past it the sets
// are dropped and decoded again as they come.
const maxChannelSets = 4096

// decode returns the channels text holds, decoded once per distinct
// text; the slice is shared and must not be modified.
func (c *channelSets) decode(text []byte) ([]meter.Channel, error) {
	c.mu.Lock()
	cs, ok := c.m[string(text)]
	c.mu.Unlock()
	if ok {
		return cs, nil
	}
	if err := json.Unmarshal(text, &cs); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxChannelSets {
		c.m = map[string][]meter.Channel{}
	}
	cs = slices.Clip(cs)
	c.m[string(text)] = cs
	c.mu.Unlock()
	return cs, nil
}
