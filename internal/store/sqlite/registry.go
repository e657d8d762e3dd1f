package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

// exists reports whether a row with the key is in the table.
func exists(ctx context.Context, q queryer, table, col, key string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE `+col+` = ?`, key).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// put inserts (create) or replaces (update) a registry row after checking
// that the key is free or taken as the operation needs.
func (s *Store) put(ctx context.Context, create bool, what, table, key string, check func(tx *sql.Tx) error, write func(tx *sql.Tx) error) error {
	return s.withWrite(ctx, func(tx *sql.Tx) error { return putTx(ctx, tx, create, what, table, key, check, write) })
}

// putTx is put inside the transaction tx.
func putTx(ctx context.Context, tx *sql.Tx, create bool, what, table, key string, check func(tx *sql.Tx) error, write func(tx *sql.Tx) error) error {
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

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // slices of strings and channels always marshal
	}
	return string(b)
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
	return s.put(ctx, create, "region", "regions", r.Code, nil, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO regions(code, name, name_en, parent) VALUES (?, ?, ?, ?)`, r.Code, r.Name, r.NameEN, r.Parent)
		return err
	})
}

// Region implements store.Registry.
func (s *Store) Region(ctx context.Context, code string) (meter.Region, error) {
	rs, err := s.regions(ctx, `WHERE code = ?`, code)
	if err != nil {
		return meter.Region{}, err
	}
	if len(rs) == 0 {
		return meter.Region{}, fmt.Errorf("region %s: %w", code, store.ErrNotFound)
	}
	return rs[0], nil
}

// Regions implements store.Registry.
func (s *Store) Regions(ctx context.Context) ([]meter.Region, error) { return s.regions(ctx, ``) }

func (s *Store) regions(ctx context.Context, where string, args ...any) ([]meter.Region, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT code, name, name_en, parent FROM regions `+where+` ORDER BY code`, args...)
	if err != nil {
		return nil, fmt.Errorf("list regions: %w", err)
	}
	defer rows.Close()
	var out []meter.Region
	for rows.Next() {
		var r meter.Region
		if err := rows.Scan(&r.Code, &r.Name, &r.NameEN, &r.Parent); err != nil {
			return nil, fmt.Errorf("list regions: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// where builds a WHERE clause from conditions whose value is non-empty.
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
	w.conds = append(w.conds, cond)
	w.args = append(w.args, v)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// CreatePark implements store.Registry.
func (s *Store) CreatePark(ctx context.Context, p meter.Park) error { return s.putPark(ctx, true, p) }

// UpdatePark implements store.Registry.
func (s *Store) UpdatePark(ctx context.Context, p meter.Park) error { return s.putPark(ctx, false, p) }

func (s *Store) putPark(ctx context.Context, create bool, p meter.Park) error {
	if err := store.ValidPark(p); err != nil {
		return err
	}
	return s.put(ctx, create, "park", "parks", p.ID, nil, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO parks(id, name, name_en, region, industries, lat, lon) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.Name, p.NameEN, p.Region, mustJSON(p.Industries), p.Lat, p.Lon)
		return err
	})
}

// Park implements store.Registry.
func (s *Store) Park(ctx context.Context, id string) (meter.Park, error) {
	ps, err := s.parks(ctx, &where{conds: []string{"id = ?"}, args: []any{id}})
	if err != nil {
		return meter.Park{}, err
	}
	if len(ps) == 0 {
		return meter.Park{}, fmt.Errorf("park %s: %w", id, store.ErrNotFound)
	}
	return ps[0], nil
}

// Parks implements store.Registry: Region and Park filter.
func (s *Store) Parks(ctx context.Context, f store.Filter) ([]meter.Park, error) {
	w := &where{}
	w.add("region LIKE ?", store.RegionPrefix(f.Region))
	w.add("id = ?", f.Park)
	if f.Enterprise != "" {
		w.add("id = (SELECT park FROM enterprises WHERE id = ?)", f.Enterprise)
	}
	return s.parks(ctx, w)
}

func (s *Store) parks(ctx context.Context, w *where) ([]meter.Park, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, name_en, region, industries, lat, lon FROM parks`+w.String()+` ORDER BY id`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list parks: %w", err)
	}
	defer rows.Close()
	var out []meter.Park
	for rows.Next() {
		var p meter.Park
		var ind string
		if err := rows.Scan(&p.ID, &p.Name, &p.NameEN, &p.Region, &ind, &p.Lat, &p.Lon); err != nil {
			return nil, fmt.Errorf("list parks: %w", err)
		}
		if err := json.Unmarshal([]byte(ind), &p.Industries); err != nil {
			return nil, fmt.Errorf("park %s industries: %w", p.ID, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
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
	check := func(tx *sql.Tx) error {
		if e.Park == "" {
			return nil
		}
		ok, err := exists(ctx, tx, "parks", "id", e.Park)
		if err == nil && !ok {
			err = fmt.Errorf("park %s: %w", e.Park, store.ErrNotFound)
		}
		return err
	}
	return s.put(ctx, create, "enterprise", "enterprises", e.ID, check, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO enterprises(id, name, name_en, park, region, industry, products, above_scale) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.Name, e.NameEN, e.Park, e.Region, e.Industry, mustJSON(e.Products), e.AboveScale)
		return err
	})
}

// Enterprise implements store.Registry.
func (s *Store) Enterprise(ctx context.Context, id string) (meter.Enterprise, error) {
	es, err := s.enterprises(ctx, &where{conds: []string{"id = ?"}, args: []any{id}})
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
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, name_en, park, region, industry, products, above_scale FROM enterprises`+w.String()+` ORDER BY id`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list enterprises: %w", err)
	}
	defer rows.Close()
	var out []meter.Enterprise
	for rows.Next() {
		var e meter.Enterprise
		var prod string
		if err := rows.Scan(&e.ID, &e.Name, &e.NameEN, &e.Park, &e.Region, &e.Industry, &prod, &e.AboveScale); err != nil {
			return nil, fmt.Errorf("list enterprises: %w", err)
		}
		if err := json.Unmarshal([]byte(prod), &e.Products); err != nil {
			return nil, fmt.Errorf("enterprise %s products: %w", e.ID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
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
	if err := s.withWrite(ctx, func(tx *sql.Tx) error { return putPointTx(ctx, tx, create, p) }); err != nil {
		return err
	}
	s.cachePoint(p)
	return nil
}

// CreatePoints implements store.BulkRegistry.
func (s *Store) CreatePoints(ctx context.Context, ps []meter.Point) error {
	err := s.withWrite(ctx, func(tx *sql.Tx) error {
		for _, p := range ps {
			if err := putPointTx(ctx, tx, true, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, p := range ps {
		s.cachePoint(p)
	}
	return nil
}

// putPointTx writes a point inside the transaction tx.
func putPointTx(ctx context.Context, tx *sql.Tx, create bool, p meter.Point) error {
	if err := store.ValidPoint(p); err != nil {
		return err
	}
	check := func(tx *sql.Tx) error {
		ok, err := exists(ctx, tx, "enterprises", "id", p.Enterprise)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("enterprise %s: %w", p.Enterprise, store.ErrNotFound)
		}
		// The parent chain must stay inside the enterprise and not loop.
		for up, depth := p.Parent, 0; up != ""; depth++ {
			if up == p.ID || depth > 16 {
				return fmt.Errorf("%w: parent chain loops", store.ErrInvalid)
			}
			var ent, next string
			err := tx.QueryRowContext(ctx, `SELECT enterprise, parent FROM points WHERE id = ?`, up).Scan(&ent, &next)
			if errors.Is(err, sql.ErrNoRows) {
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
	return putTx(ctx, tx, create, "point", "points", p.ID, check, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO points(id, enterprise, name, name_en, level, stage, source, parent, channels, roles) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.Enterprise, p.Name, p.NameEN, int(p.Level), string(p.Stage), string(p.Source), p.Parent, mustJSON(p.Channels), rolesOf(p).encode())
		return err
	})
}

// cachePoint follows a written point in the point cache.
func (s *Store) cachePoint(p meter.Point) {
	s.reg.Lock()
	if s.pointCache != nil {
		if pi := s.pointCache[p.ID]; pi != nil {
			pi.channels = slices.Clone(p.Channels)
		} else {
			s.pointCache[p.ID] = &pointInfo{channels: slices.Clone(p.Channels)}
		}
	}
	s.reg.Unlock()
}

// Point implements store.Registry.
func (s *Store) Point(ctx context.Context, id string) (meter.Point, error) {
	ps, err := s.points(ctx, &where{conds: []string{"p.id = ?"}, args: []any{id}}, 1)
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
	w.add("p.level = ?", f.Level)
	if len(w.conds) == 0 {
		return s.allPoints(ctx)
	}
	return s.points(ctx, w, 0)
}

// splitPoints is the number of points from which the list of every point
// is read as two halves of the key at once.
var splitPoints = 100_000

// allPoints lists every point. A long list (a roll-up lists half a
// million) is read as two halves of the key at once, on two connections,
// each point in one of them; sized by the point cache when it is loaded.
func (s *Store) allPoints(ctx context.Context) ([]meter.Point, error) {
	s.reg.RLock()
	n := len(s.pointCache)
	s.reg.RUnlock()
	if n < splitPoints || n < 2 {
		return s.points(ctx, &where{}, n)
	}
	var mid string
	if err := s.r.QueryRowContext(ctx, `SELECT id FROM points ORDER BY id LIMIT 1 OFFSET ?`, n/2).Scan(&mid); errors.Is(err, sql.ErrNoRows) {
		return s.points(ctx, &where{}, n)
	} else if err != nil {
		return nil, fmt.Errorf("list points: %w", err)
	}
	var (
		lo    []meter.Point
		errLo error
		wg    sync.WaitGroup
	)
	wg.Go(func() { lo, errLo = s.points(ctx, &where{conds: []string{"p.id < ?"}, args: []any{mid}}, n) })
	hi, err := s.points(ctx, &where{conds: []string{"p.id >= ?"}, args: []any{mid}}, n-n/2)
	wg.Wait()
	if err := errors.Join(errLo, err); err != nil {
		return nil, err
	}
	return append(lo, hi...), nil
}

// points lists the points w selects, in ID order, into a list of capacity
// size (a hint).
func (s *Store) points(ctx context.Context, w *where, size int) ([]meter.Point, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT p.id, p.enterprise, p.name, p.name_en, p.level, p.stage, p.source, p.parent, p.channels, p.roles
		FROM points p JOIN enterprises e ON e.id = p.enterprise`+w.String()+` ORDER BY p.id`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list points: %w", err)
	}
	defer rows.Close()
	out := make([]meter.Point, 0, size)
	// Most points share their channels' JSON: decode each text once.
	decoded := map[string][]meter.Channel{}
	var (
		p                           meter.Point
		level                       int
		stage, source, chans, roles string
		cs                          []meter.Channel
		block                       []meter.Channel // each point's own channels, cut from shared blocks
	)
	dst := []any{&p.ID, &p.Enterprise, &p.Name, &p.NameEN, &level, &stage, &source, &p.Parent, &chans, &roles}
	for rows.Next() {
		p = meter.Point{}
		if err := rows.Scan(dst...); err != nil {
			return nil, fmt.Errorf("list points: %w", err)
		}
		p.Level, p.Stage, p.Source = meter.Level(level), meter.Stage(stage), meter.Source(source)
		var ok bool
		if cs, ok = decoded[chans]; !ok {
			cs = nil
			if err := json.Unmarshal([]byte(chans), &cs); err != nil {
				return nil, fmt.Errorf("point %s channels: %w", p.ID, err)
			}
			decoded[chans] = cs
		}
		if block == nil || len(cs) > cap(block)-len(block) {
			block = make([]meter.Channel, 0, max(256, len(cs)))
		}
		if cs != nil {
			n := len(block)
			block = append(block, cs...)
			p.Channels = block[n:len(block):len(block)]
		}
		if roles != "" {
			var pr pointRoles
			if err := json.Unmarshal([]byte(roles), &pr); err != nil {
				return nil, fmt.Errorf("point %s roles: %w", p.ID, err)
			}
			p.Purpose, p.Reuse, p.From, p.Outflow = pr.Purpose, pr.Reuse, pr.From, pr.Outflow
		}
		out = append(out, p)
	}
	return out, rows.Err()
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
	var mid int64
	err := s.withWrite(ctx, func(tx *sql.Tx) (err error) {
		mid, err = putMeterTx(ctx, tx, create, m)
		return err
	})
	if err != nil {
		return err
	}
	s.cacheMeter(m, mid)
	return nil
}

// CreateMeters implements store.BulkRegistry.
func (s *Store) CreateMeters(ctx context.Context, ms []meter.Meter, secrets []store.DeviceSecret) error {
	mids := make([]int64, len(ms))
	err := s.withWrite(ctx, func(tx *sql.Tx) (err error) {
		for i, m := range ms {
			if mids[i], err = putMeterTx(ctx, tx, true, m); err != nil {
				return err
			}
		}
		return setDeviceSecretsTx(ctx, tx, secrets)
	})
	if err != nil {
		return err
	}
	for i, m := range ms {
		s.cacheMeter(m, mids[i])
	}
	return nil
}

// putMeterTx writes a meter inside the transaction tx and returns its mid.
func putMeterTx(ctx context.Context, tx *sql.Tx, create bool, m meter.Meter) (int64, error) {
	if err := store.ValidMeter(m); err != nil {
		return 0, err
	}
	check := func(tx *sql.Tx) error {
		ok, err := exists(ctx, tx, "points", "id", m.Point)
		if err == nil && !ok {
			err = fmt.Errorf("point %s: %w", m.Point, store.ErrNotFound)
		}
		return err
	}
	var mid int64
	err := putTx(ctx, tx, create, "meter", "meters", m.ID, check, func(tx *sql.Tx) error {
		args := []any{m.Point, m.Serial, m.Model, m.Key, string(m.Signed), m.Revoked, m.Registered.UnixMilli(), m.Interval.Milliseconds(), m.Gateway, m.ID}
		if create {
			res, err := tx.ExecContext(ctx, `INSERT INTO meters(point, serial, model, key, signed, revoked, registered, interval_ms, gateway, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
			if err != nil {
				return err
			}
			if mid, err = res.LastInsertId(); err != nil {
				return err
			}
		} else {
			if err := tx.QueryRowContext(ctx, `SELECT mid FROM meters WHERE id = ?`, m.ID).Scan(&mid); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE meters SET point = ?, serial = ?, model = ?, key = ?, signed = ?, revoked = ?, registered = ?, interval_ms = ?, gateway = ? WHERE id = ?`, args...); err != nil {
				return err
			}
		}
		if m.Collector == "" {
			_, err := tx.ExecContext(ctx, `DELETE FROM meter_collectors WHERE id = ?`, m.ID)
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO meter_collectors(id, collector) VALUES (?, ?)`, m.ID, m.Collector)
		return err
	})
	return mid, err
}

// cacheMeter follows a written meter in the meter caches.
func (s *Store) cacheMeter(m meter.Meter, mid int64) {
	s.reg.Lock()
	if old := s.byMid[mid]; old != nil && old.point != m.Point {
		if pi := s.pointCache[old.point]; pi != nil {
			pi.mids = slices.DeleteFunc(pi.mids, func(x int64) bool { return x == mid })
		}
	}
	if old := s.byMid[mid]; old == nil || old.point != m.Point {
		if pi := s.pointCache[m.Point]; pi != nil {
			pi.mids = append(pi.mids, mid)
			slices.Sort(pi.mids)
		}
	}
	mi := &meterInfo{mid: mid, id: m.ID, point: m.Point, interval: m.Interval}
	s.meters[m.ID], s.byMid[mid] = mi, mi
	s.reg.Unlock()
}

// Meter implements store.Registry.
func (s *Store) Meter(ctx context.Context, id string) (meter.Meter, error) {
	ms, err := s.metersWhere(ctx, &where{conds: []string{"m.id = ?"}, args: []any{id}})
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
	w.add("p.level = ?", f.Level)
	return s.metersWhere(ctx, w)
}

func (s *Store) metersWhere(ctx context.Context, w *where) ([]meter.Meter, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT m.id, m.point, m.serial, m.model, m.key, m.signed, m.revoked, m.registered, m.interval_ms, m.gateway,
		coalesce(c.collector, '') FROM meters m JOIN points p ON p.id = m.point JOIN enterprises e ON e.id = p.enterprise
		LEFT JOIN meter_collectors c ON c.id = m.id`+w.String()+` ORDER BY m.id`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list meters: %w", err)
	}
	defer rows.Close()
	var out []meter.Meter
	for rows.Next() {
		var m meter.Meter
		var signed string
		var reg, iv int64
		if err := rows.Scan(&m.ID, &m.Point, &m.Serial, &m.Model, &m.Key, &signed, &m.Revoked, &reg, &iv, &m.Gateway, &m.Collector); err != nil {
			return nil, fmt.Errorf("list meters: %w", err)
		}
		m.Signed = meter.SigningSite(signed)
		m.Registered = time.UnixMilli(reg).UTC()
		m.Interval = time.Duration(iv) * time.Millisecond
		out = append(out, m)
	}
	return out, rows.Err()
}

// RevokeMeter implements store.Registry.
func (s *Store) RevokeMeter(ctx context.Context, id string) error {
	err := s.withWrite(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE meters SET revoked = 1 WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("revoke meter %s: %w", id, err)
	}
	return nil
}

// pointRoles is how a point's balance roles are kept (column roles).
type pointRoles struct {
	Purpose meter.Purpose   `json:"purpose,omitempty"`
	Reuse   meter.ReuseKind `json:"reuse,omitempty"`
	From    string          `json:"from,omitempty"`
	Outflow meter.Outflow   `json:"outflow,omitempty"`
}

func rolesOf(p meter.Point) pointRoles {
	return pointRoles{Purpose: p.Purpose, Reuse: p.Reuse, From: p.From, Outflow: p.Outflow}
}

// encode is the column's text: ” when the point has no roles.
func (r pointRoles) encode() string {
	if r == (pointRoles{}) {
		return ""
	}
	return mustJSON(r)
}
