package api

import (
	"context"
	"math"
	"net/http"
	"sort"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/internal/periodvol"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

// volumes returns each point's consumption over [from, to) in one query; a
// point with no valid bucket is absent (periodvol.Volumes).
func (s *Server) volumes(ctx context.Context, points []meter.Point, from, to time.Time, loc *time.Location) (balance.Volumes, error) {
	vol, _, err := periodvol.Volumes(ctx, s.opts.Store, points, from, to, loc)
	return vol, err
}

// figures are the summed balance figures of a group of enterprises.
type figures struct {
	Kind        string   `json:"kind"`
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	NameEN      string   `json:"name_en"`
	Intake      float64  `json:"intake_m3"`
	Use         float64  `json:"use_m3"`
	Reuse       float64  `json:"reuse_m3"`
	Discharge   float64  `json:"discharge_m3"`
	NonConv     float64  `json:"nonconv_m3"`
	Unaccounted float64  `json:"unaccounted_m3"`
	ReuseRate   *float64 `json:"reuse_rate"`
	NonConvRate *float64 `json:"nonconv_rate"`
	Alarms      int      `json:"alarms"`
	Meters      int      `json:"meters"`
	Online      int      `json:"online"`
	Enterprises int      `json:"enterprises"`
}

func (f *figures) add(in balance.Indicators) {
	f.Intake += in.Intake
	f.Use += in.Use
	f.Reuse += in.Reuse
	f.Discharge += in.Discharge
	f.NonConv += in.NonConv
	f.Unaccounted += in.Unaccounted
	f.Enterprises++
}

func (f *figures) addOther(o *figures) {
	f.Intake += o.Intake
	f.Use += o.Use
	f.Reuse += o.Reuse
	f.Discharge += o.Discharge
	f.NonConv += o.NonConv
	f.Unaccounted += o.Unaccounted
	f.Alarms += o.Alarms
	f.Meters += o.Meters
	f.Online += o.Online
	f.Enterprises += o.Enterprises
}

func rate(a, b float64) *float64 {
	if b <= 0 || math.IsNaN(a) {
		return nil
	}
	v := a / b
	return &v
}

func (f *figures) finish() {
	f.ReuseRate = rate(f.Reuse, f.Reuse+f.Intake)
	f.NonConvRate = rate(f.NonConv, f.Intake)
}

// enterpriseInPark reports whether the caller is an enterprise token whose
// enterprise lies in park: it may see that park's overview, narrowed to
// itself, and no other park's.
func (s *Server) enterpriseInPark(ctx context.Context, p *Principal, park string) bool {
	if p.Token.Role != store.RoleEnterprise {
		return false
	}
	e, err := s.opts.Store.Enterprise(ctx, p.Token.Scope)
	return err == nil && e.Park == park
}

// overview rolls enterprises up to the children of a province, city or park.
func (s *Server) overview(w http.ResponseWriter, r *http.Request, p *Principal) {
	q := r.URL.Query()
	level, code := q.Get("level"), q.Get("code")
	if level == "" {
		level, code = "province", "430000"
	}
	start, end, err := s.day(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	key := joinKey("overview", p.Token.ID, level, code, start.Format(time.RFC3339))
	v, err := s.cache.get(key, s.opts.Now(), 10*time.Second, func() (any, error) {
		return s.computeOverview(r.Context(), p, level, code, start, end, s.loc(r))
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) computeOverview(ctx context.Context, p *Principal, level, code string, start, end time.Time, loc *time.Location) (any, error) {
	st := s.opts.Store
	var f store.Filter
	var name, nameEN string
	switch level {
	case "province", "city":
		if err := meter.ValidRegionCode(code); err != nil {
			return nil, errorf(http.StatusBadRequest, "code: %v", err)
		}
		reg, err := st.Region(ctx, code)
		if err != nil {
			return nil, err
		}
		name, nameEN = reg.Name, reg.NameEN
		f.Region = code
	case "park":
		pk, err := st.Park(ctx, code)
		if err != nil {
			return nil, err
		}
		if !p.CanSeePark(pk) && !s.enterpriseInPark(ctx, p, pk.ID) {
			return nil, forbidden()
		}
		name, nameEN = pk.Name, pk.NameEN
		f.Park = code
	default:
		return nil, errorf(http.StatusBadRequest, "level must be province, city or park")
	}
	f = p.filter(f)
	ents, err := st.Enterprises(ctx, f)
	if err != nil {
		return nil, err
	}
	var visible []meter.Enterprise
	for _, e := range ents {
		if p.CanSeeEnterprise(e) {
			visible = append(visible, e)
		}
	}
	pts, err := st.Points(ctx, f)
	if err != nil {
		return nil, err
	}
	byEnt := map[string][]meter.Point{}
	for _, pt := range pts {
		byEnt[pt.Enterprise] = append(byEnt[pt.Enterprise], pt)
	}
	vol, err := s.volumes(ctx, pts, start, end, loc)
	if err != nil {
		return nil, err
	}
	meters, err := st.Meters(ctx, f)
	if err != nil {
		return nil, err
	}
	pointEnt := map[string]string{}
	for _, pt := range pts {
		pointEnt[pt.ID] = pt.Enterprise
	}
	now := s.opts.Now()
	metersOf, onlineOf := map[string]int{}, map[string]int{}
	for _, m := range meters {
		if m.Revoked {
			continue
		}
		e := pointEnt[m.Point]
		metersOf[e]++
		seen, ok := s.opts.Live.Seen(m.ID)
		if meterStatus(m, seen, ok, now) == "online" {
			onlineOf[e]++
		}
	}
	alarms, err := st.Alarms(ctx, alarm.Filter{Open: true, Park: f.Park, Enterprise: f.Enterprise, Limit: 100000})
	if err != nil {
		return nil, err
	}
	alarmsOf := map[string]int{}
	for _, a := range alarms {
		alarmsOf[a.Enterprise]++
	}
	settings := balance.DefaultSettings()
	perEnt := map[string]*figures{}
	for _, e := range visible {
		fg := &figures{Kind: "enterprise", ID: e.ID, Name: e.Name, NameEN: e.NameEN,
			Alarms: alarmsOf[e.ID], Meters: metersOf[e.ID], Online: onlineOf[e.ID]}
		fg.add(balance.Compute(byEnt[e.ID], vol, settings))
		perEnt[e.ID] = fg
	}
	// Group by the next level down.
	children := map[string]*figures{}
	var order []string
	group := func(key, kind, nm, nmEN string) *figures {
		if c, ok := children[key]; ok {
			return c
		}
		c := &figures{Kind: kind, ID: key, Name: nm, NameEN: nmEN}
		children[key] = c
		order = append(order, key)
		return c
	}
	regions := map[string]meter.Region{}
	if rs, err := st.Regions(ctx); err == nil {
		for _, rg := range rs {
			regions[rg.Code] = rg
		}
	}
	parks := map[string]meter.Park{}
	if level != "park" {
		if ps, err := st.Parks(ctx, store.Filter{Region: f.Region}); err == nil {
			for _, pk := range ps {
				parks[pk.ID] = pk
			}
		}
	}
	for _, e := range visible {
		fg := perEnt[e.ID]
		switch level {
		case "province":
			city := meter.CityOf(e.Region)
			rg := regions[city]
			group(city, "city", rg.Name, rg.NameEN).addOther(fg)
		case "city":
			if pk, ok := parks[e.Park]; ok && p.CanSeePark(pk) {
				group(pk.ID, "park", pk.Name, pk.NameEN).addOther(fg)
			} else {
				fg.finish()
				children[e.ID] = fg
				order = append(order, e.ID)
			}
		case "park":
			fg.finish()
			children[e.ID] = fg
			order = append(order, e.ID)
		}
	}
	total := &figures{Kind: level, ID: code, Name: name, NameEN: nameEN}
	out := make([]*figures, 0, len(order))
	sort.Strings(order)
	for _, k := range order {
		c := children[k]
		c.finish()
		total.addOther(c)
		out = append(out, c)
	}
	total.finish()
	return map[string]any{"level": level, "code": code, "name": name, "name_en": nameEN,
		"date": start.Format("2006-01-02"), "totals": total, "children": out}, nil
}

type treeNode struct {
	meter.Point
	LevelName string        `json:"level_name"`
	TodayM3   *float64      `json:"today_m3"`
	Meters    []meterEntity `json:"meters"`
	Children  []*treeNode   `json:"children"`
}

// enterpriseTree is the metering tree (levels 1–3) with today's volumes.
func (s *Server) enterpriseTree(w http.ResponseWriter, r *http.Request, p *Principal) {
	e, err := s.enterprise(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	pts, err := s.opts.Store.Points(ctx, store.Filter{Enterprise: e.ID})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ms, err := s.opts.Store.Meters(ctx, store.Filter{Enterprise: e.ID})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	start, end, err := s.day(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	vol, err := s.volumes(ctx, pts, start, end, s.loc(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	nodes := map[string]*treeNode{}
	for _, pt := range pts {
		n := &treeNode{Point: pt, LevelName: pt.Level.Chinese(), Meters: []meterEntity{}, Children: []*treeNode{}}
		if v, ok := vol[pt.ID]; ok {
			n.TodayM3 = &v
		}
		nodes[pt.ID] = n
	}
	for _, m := range ms {
		if n, ok := nodes[m.Point]; ok {
			n.Meters = append(n.Meters, s.meterEntity(m, e.ID))
		}
	}
	roots := []*treeNode{}
	for _, pt := range pts {
		n := nodes[pt.ID]
		if parent, ok := nodes[pt.Parent]; ok && pt.Parent != pt.ID {
			parent.Children = append(parent.Children, n)
		} else {
			roots = append(roots, n)
		}
	}
	writeJSON(w, http.StatusOK, roots)
}
