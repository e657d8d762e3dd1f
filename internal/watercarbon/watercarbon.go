// Package watercarbon is the water–carbon co-accounting use case: every
// enterprise's electricity attributable to water and its CO₂ over a year to
// date (package carbon), summed per park and for the province. Volumes are
// read from the store by periodvol.Volumes — the store's day and month
// pre-totals where they are current, the rest hour by hour, by
// balance.PeriodVolumes — and intake and discharge by the balance's rules
// (balance.IntakeBySource, balance.DischargeOf).
//
// Energy is estimated from per-m³ factors: the meter catalogue has no
// energy channel yet, so no stage is metered here (carbon.Use.MeteredKWh
// takes metered values once one exists).
package watercarbon

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/carbon"
	"github.com/shuixiao/shuixiao/internal/periodvol"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
)

// Source is the part of the store the accounts read.
type Source interface {
	Parks(ctx context.Context, f store.Filter) ([]meter.Park, error)
	Enterprises(ctx context.Context, f store.Filter) ([]meter.Enterprise, error)
	Points(ctx context.Context, f store.Filter) ([]meter.Point, error)
	Consumption(ctx context.Context, q store.ConsumptionQuery) ([]store.SeriesBuckets, error)
}

// Level of an account.
const (
	LevelProvince   = "province"
	LevelPark       = "park"
	LevelEnterprise = "enterprise"
)

// Line is one unit's account.
type Line struct {
	Level       string         `json:"level"`
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Park        string         `json:"park,omitempty"`
	Enterprises int            `json:"enterprises"`
	IntakeM3    float64        `json:"intake_m3"`
	DischargeM3 float64        `json:"discharge_m3"`
	Account     carbon.Account `json:"account"`
	// KgCO2PerM3 is the CO₂ per m³ of intake.
	KgCO2PerM3 float64 `json:"kg_co2_per_m3"`
	// Incomplete: some intake or discharge point had no volume.
	Incomplete bool `json:"incomplete"`
}

// Snapshot holds every line of a year to date.
type Snapshot struct {
	Year        int                 `json:"year"`
	From        time.Time           `json:"from"`
	To          time.Time           `json:"to"`
	Computed    time.Time           `json:"computed"`
	Factors     carbon.Factors      `json:"factors"`
	Province    Line                `json:"province"`
	Parks       []Line              `json:"parks"`
	Enterprises map[string]Line     `json:"-"`
	byPark      map[string][]string // park → enterprises
}

// Compute makes the accounts of year up to now (to the minute) for the
// province's enterprises.
func Compute(ctx context.Context, src Source, tables carbon.Tables, province string, year int, now time.Time, loc *time.Location) (*Snapshot, error) {
	if loc == nil {
		loc = production.Zone
	}
	from := time.Date(year, 1, 1, 0, 0, 0, 0, loc)
	to := time.Date(year+1, 1, 1, 0, 0, 0, 0, loc)
	if n := now.Truncate(time.Minute); n.Before(to) { // as planuse reads the current month
		to = n
	}
	f, err := tables.For(province, year)
	if err != nil {
		return nil, err
	}
	s := &Snapshot{Year: year, From: from, To: to, Computed: now, Factors: f, Enterprises: map[string]Line{}, byPark: map[string][]string{}, Parks: []Line{}}
	ents, err := src.Enterprises(ctx, store.Filter{Region: province})
	if err != nil {
		return nil, fmt.Errorf("watercarbon: enterprises: %w", err)
	}
	parks, err := src.Parks(ctx, store.Filter{Region: province})
	if err != nil {
		return nil, fmt.Errorf("watercarbon: parks: %w", err)
	}
	pts, err := src.Points(ctx, store.Filter{Level: meter.Level1})
	if err != nil {
		return nil, fmt.Errorf("watercarbon: points: %w", err)
	}
	points := map[string][]meter.Point{}
	for _, p := range pts {
		points[p.Enterprise] = append(points[p.Enterprise], p)
	}
	ids := make([]string, 0, len(ents))
	byID := map[string]meter.Enterprise{}
	for _, e := range ents {
		ids = append(ids, e.ID)
		byID[e.ID] = e
	}
	sort.Strings(ids)
	type flows struct {
		in, out    float64
		incomplete bool
	}
	got := map[string]flows{}
	if to.After(from) {
		err = volumes(ctx, src, ids, points, from, to, loc, func(id string, vol balance.Volumes) {
			bySource, m1 := balance.IntakeBySource(points[id], vol)
			d, m2 := balance.DischargeOf(points[id], vol)
			fl := flows{out: d, incomplete: len(m1)+len(m2) > 0}
			for _, v := range bySource {
				fl.in += v
			}
			got[id] = fl
		})
		if err != nil {
			return nil, err
		}
	}
	line := func(level, id, name string, in, out float64, n int, incomplete bool) (Line, error) {
		a, err := carbon.Compute(carbon.Use{IntakeM3: in, DischargeM3: out}, f)
		l := Line{Level: level, ID: id, Name: name, Enterprises: n, IntakeM3: in, DischargeM3: out, Account: a, Incomplete: incomplete}
		if in > 0 {
			l.KgCO2PerM3 = a.KgCO2 / in
		}
		return l, err
	}
	type sum struct {
		in, out    float64
		n          int
		incomplete bool
	}
	parkSum := map[string]*sum{}
	prov := &sum{}
	for _, id := range ids {
		e, fl := byID[id], got[id]
		l, err := line(LevelEnterprise, id, e.Name, fl.in, fl.out, 1, fl.incomplete)
		if err != nil {
			return nil, err
		}
		l.Park = e.Park
		s.Enterprises[id] = l
		for _, sm := range []*sum{prov, parkSum[e.Park]} {
			if sm == nil && e.Park != "" {
				sm = &sum{}
				parkSum[e.Park] = sm
			}
			if sm == nil {
				continue
			}
			sm.in, sm.out, sm.n = sm.in+fl.in, sm.out+fl.out, sm.n+1
			sm.incomplete = sm.incomplete || fl.incomplete
		}
		if e.Park != "" {
			s.byPark[e.Park] = append(s.byPark[e.Park], id)
		}
	}
	for _, p := range parks {
		sm := parkSum[p.ID]
		if sm == nil {
			sm = &sum{}
		}
		l, err := line(LevelPark, p.ID, p.Name, sm.in, sm.out, sm.n, sm.incomplete)
		if err != nil {
			return nil, err
		}
		s.Parks = append(s.Parks, l)
	}
	if s.Province, err = line(LevelProvince, province, "全省 / Province", prov.in, prov.out, prov.n, prov.incomplete); err != nil {
		return nil, err
	}
	return s, nil
}

// readBatch is how many series one periodvol.Volumes reads: enough for a
// store to read each month's pre-totals of all of them in one range
// (internal/store/sqlite does from 2,048 series on), few enough to keep a
// batch's totals small.
const readBatch = 4096

// volumes reads the volumes over [from, to) of the enterprises' points in
// batches of whole enterprises (periodvol.Volumes) and calls fn once per
// enterprise with its batch's volumes.
func volumes(ctx context.Context, src Source, ids []string, points map[string][]meter.Point, from, to time.Time, loc *time.Location,
	fn func(id string, vol balance.Volumes)) error {
	var batch []meter.Point
	var batchIDs []string
	flush := func() error {
		if len(batchIDs) == 0 {
			return nil
		}
		vol, _, err := periodvol.Volumes(ctx, src, batch, from, to, loc)
		if err != nil {
			return fmt.Errorf("watercarbon: volumes %s–%s: %w", from.Format(time.DateOnly), to.Format(time.DateOnly), err)
		}
		for _, id := range batchIDs {
			fn(id, vol)
		}
		batch, batchIDs = batch[:0], batchIDs[:0]
		return nil
	}
	for _, id := range ids {
		batch, batchIDs = append(batch, points[id]...), append(batchIDs, id)
		if len(batch) >= readBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// ParkEnterprises lists the enterprise lines of a park.
func (s *Snapshot) ParkEnterprises(park string) []Line {
	out := []Line{}
	for _, id := range s.byPark[park] {
		out = append(out, s.Enterprises[id])
	}
	return out
}

// MaxAge is how long a snapshot is answered before it is computed again.
const MaxAge = 10 * time.Minute

// Service caches snapshots per year.
type Service struct {
	Src      Source
	Province string // default 430000
	Now      func() time.Time

	mu      sync.Mutex
	compute sync.Mutex
	tables  *carbon.Tables
	snaps   map[int]*Snapshot
}

// Snapshot returns the year's accounts, computed at most MaxAge ago.
func (s *Service) Snapshot(ctx context.Context, year int) (*Snapshot, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	get := func() *Snapshot {
		s.mu.Lock()
		defer s.mu.Unlock()
		if sn := s.snaps[year]; sn != nil && now().Sub(sn.Computed) < MaxAge {
			return sn
		}
		return nil
	}
	if sn := get(); sn != nil {
		return sn, nil
	}
	s.compute.Lock()
	defer s.compute.Unlock()
	if sn := get(); sn != nil {
		return sn, nil
	}
	if s.tables == nil {
		t, err := carbon.Load()
		if err != nil {
			return nil, err
		}
		s.tables = &t
	}
	prov := s.Province
	if prov == "" {
		prov = "430000"
	}
	sn, err := Compute(ctx, s.Src, *s.tables, prov, year, now(), nil)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.snaps == nil {
		s.snaps = map[int]*Snapshot{}
	}
	s.snaps[year] = sn
	s.mu.Unlock()
	return sn, nil
}
