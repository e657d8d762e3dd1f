package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/alarms"
	"github.com/shuixiao/shuixiao/internal/dispatch"
	"github.com/shuixiao/shuixiao/internal/netmon"
	"github.com/shuixiao/shuixiao/internal/netreg"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/network"
	"github.com/shuixiao/shuixiao/workorder"
)

// NetworkMonitor is what the API needs of the leak monitor (package
// netmon's Monitor): to reload a network it registered, and its status.
type NetworkMonitor interface {
	Reload(id string)
	Status(id string) (netmon.NetworkStatus, bool)
}

// networks returns the store's network part (every store the server runs
// on has it; a test store may not).
func (s *Server) networks() (store.Networks, error) {
	ns, ok := s.opts.Store.(store.Networks)
	if !ok {
		return nil, errorf(http.StatusNotImplemented, "this server's store keeps no pipe networks")
	}
	return ns, nil
}

// networkVisible reports whether the caller may see a network: through its
// operating enterprise, or its park when it has no operator.
func (s *Server) networkVisible(ctx context.Context, p *Principal, n store.Network) bool {
	if p.SeesAll() {
		return true
	}
	if n.Enterprise != "" {
		_, err := s.enterprise(ctx, p, n.Enterprise)
		return err == nil
	}
	pk, err := s.opts.Store.Park(ctx, n.Park)
	return err == nil && p.CanSeePark(pk)
}

// networkByID returns a network the caller may see (403 otherwise).
func (s *Server) networkByID(ctx context.Context, p *Principal, id string) (store.Network, error) {
	ns, err := s.networks()
	if err != nil {
		return store.Network{}, err
	}
	n, err := ns.Network(ctx, id)
	if err != nil {
		return n, err
	}
	if !s.networkVisible(ctx, p, n) {
		return n, forbidden()
	}
	return n, nil
}

// networkSummary is a network in lists.
type networkSummary struct {
	ID         string                `json:"id"`
	Name       string                `json:"name"`
	NameEN     string                `json:"name_en,omitempty"`
	Park       string                `json:"park,omitempty"`
	Enterprise string                `json:"enterprise,omitempty"`
	Created    time.Time             `json:"created"`
	Updated    time.Time             `json:"updated"`
	Junctions  int                   `json:"junctions"`
	Links      int                   `json:"links"`
	Sensors    int                   `json:"sensors"`
	Zones      int                   `json:"zones"`
	Monitor    *netmon.NetworkStatus `json:"monitor,omitempty"`
}

func (s *Server) summarize(n store.Network) networkSummary {
	out := networkSummary{ID: n.ID, Name: n.Name, NameEN: n.NameEN, Park: n.Park, Enterprise: n.Enterprise, Created: n.Created, Updated: n.Updated}
	m := s.nets.Model(n)
	if m.NetErr == nil {
		out.Junctions, out.Links = m.Net.Junctions, len(m.Net.Links)
	}
	if m.ConfigErr == nil {
		out.Sensors, out.Zones = len(m.Config.Sensors), len(m.Config.Zones)
	}
	if s.opts.Networks != nil {
		if st, ok := s.opts.Networks.Status(n.ID); ok {
			out.Monitor = &st
		}
	}
	return out
}

func (s *Server) listNetworks(w http.ResponseWriter, r *http.Request, p *Principal) {
	ns, err := s.networks()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	list, err := ns.Networks(r.Context(), store.NetworkFilter{Park: q.Get("park"), Enterprise: q.Get("enterprise")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []networkSummary{}
	for _, n := range list {
		if s.networkVisible(r.Context(), p, n) {
			out = append(out, s.summarize(n))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// networkRequest is the body of POST /networks and PUT /networks/{id}.
type networkRequest struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	NameEN     string          `json:"name_en"`
	Park       string          `json:"park"`
	Enterprise string          `json:"enterprise"`
	INP        string          `json:"inp"`
	Config     json.RawMessage `json:"config"`
}

func (s *Server) createNetwork(w http.ResponseWriter, r *http.Request, p *Principal) {
	s.putNetwork(w, r, p, "")
}

func (s *Server) replaceNetwork(w http.ResponseWriter, r *http.Request, p *Principal) {
	s.putNetwork(w, r, p, r.PathValue("id"))
}

// putNetwork registers (pathID empty: create only) or replaces a network
// after checking its model, configuration and metering points.
func (s *Server) putNetwork(w http.ResponseWriter, r *http.Request, p *Principal, pathID string) {
	if !p.Admin() {
		s.fail(w, r, errorf(http.StatusForbidden, "only an admin token may register networks"))
		return
	}
	if _, err := s.networks(); err != nil {
		s.fail(w, r, err)
		return
	}
	var req networkRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if pathID != "" {
		if req.ID == "" {
			req.ID = pathID
		}
		if req.ID != pathID {
			s.fail(w, r, errorf(http.StatusBadRequest, "network id %q in the body differs from %q in the path", req.ID, pathID))
			return
		}
	}
	stored, created, err := s.nets.Put(r.Context(), netreg.Registration{ID: req.ID, Name: req.Name, NameEN: req.NameEN,
		Park: req.Park, Enterprise: req.Enterprise, INP: req.INP, Config: req.Config}, pathID != "")
	switch {
	case errors.Is(err, netreg.ErrExists):
		s.fail(w, r, errorf(http.StatusConflict, "%v; PUT /api/v1/networks/%s replaces it", err, req.ID))
		return
	case errors.Is(err, netreg.ErrInvalid):
		s.fail(w, r, errorf(http.StatusBadRequest, "%v", err))
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, s.summarize(stored))
}

// mapNode and mapLink are what the console draws.
type mapNode struct {
	ID        string  `json:"id"`
	Kind      string  `json:"kind"`
	X         float64 `json:"x"`
	Y         float64 `json:"y"`
	HasCoords bool    `json:"has_coords"`
	Elevation float64 `json:"elevation"`
	Demand    float64 `json:"base_demand,omitempty"`
	Zone      string  `json:"zone,omitempty"`
}

type mapLink struct {
	ID       string          `json:"id"`
	Kind     string          `json:"kind"`
	From     string          `json:"from"`
	To       string          `json:"to"`
	Length   float64         `json:"length,omitempty"`
	Diameter float64         `json:"diameter,omitempty"`
	Vertices []network.Point `json:"vertices,omitempty"`
}

func (s *Server) getNetwork(w http.ResponseWriter, r *http.Request, p *Principal) {
	n, err := s.networkByID(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	m := s.nets.Model(n)
	if m.NetErr != nil {
		s.fail(w, r, fmt.Errorf("network %s: stored model: %w", n.ID, m.NetErr))
		return
	}
	if m.ConfigErr != nil {
		s.fail(w, r, fmt.Errorf("network %s: stored configuration: %w", n.ID, m.ConfigErr))
		return
	}
	net, cfg := m.Net, m.Config
	zoneOf := map[string]string{}
	for z, nodes := range cfg.ZoneNodes(net) {
		for _, id := range nodes {
			zoneOf[id] = z
		}
	}
	nodes := make([]mapNode, len(net.Nodes))
	for i, nd := range net.Nodes {
		base := 0.0
		for _, d := range nd.Demands {
			base += d.Base
		}
		nodes[i] = mapNode{ID: nd.ID, Kind: nd.Kind.String(), X: nd.X, Y: nd.Y, HasCoords: nd.HasCoords, Elevation: nd.Elevation, Demand: base, Zone: zoneOf[nd.ID]}
	}
	links := make([]mapLink, len(net.Links))
	for k, l := range net.Links {
		links[k] = mapLink{ID: l.ID, Kind: l.Kind.String(), From: net.Nodes[l.From].ID, To: net.Nodes[l.To].ID, Vertices: l.Vertices}
		if l.Kind.IsPipe() {
			links[k].Length, links[k].Diameter = l.Length, l.Diameter
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"network": s.summarize(n), "config": cfg, "nodes": nodes, "links": links,
		"title": net.Title, "units": map[string]string{"flow": "m3/h", "head": "m", "length": "m", "diameter": "mm"}})
}

func (s *Server) networkINP(w http.ResponseWriter, r *http.Request, p *Principal) {
	n, err := s.networkByID(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", n.ID+".inp"))
	_, _ = w.Write([]byte(n.INP))
}

func (s *Server) networkState(w http.ResponseWriter, r *http.Request, p *Principal) {
	n, err := s.networkByID(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := s.timeParam(r, "time", s.opts.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	m := s.nets.Model(n)
	err = m.ConfigErr
	var st *netmon.State
	if err == nil && m.NetErr != nil {
		err = fmt.Errorf("network model: %w", m.NetErr)
	}
	if err == nil {
		st, err = netmon.ReadState(r.Context(), s.opts.Store, m.Net, m.Config, t)
	}
	if err != nil {
		s.fail(w, r, errorf(http.StatusUnprocessableEntity, "network %s at %s: %v", n.ID, t.Format(time.RFC3339), err))
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) networkZones(w http.ResponseWriter, r *http.Request, p *Principal) {
	n, err := s.networkByID(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	m := s.nets.Model(n)
	if m.ConfigErr != nil {
		s.fail(w, r, m.ConfigErr)
		return
	}
	cfg := m.Config
	now := s.opts.Now()
	to, err := s.timeParam(r, "to", now)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Default: the last two network days.
	from, err := s.timeParam(r, "from", to.Add(-cfg.Clock.Real(48*time.Hour)))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !from.Before(to) {
		s.fail(w, r, errorf(http.StatusBadRequest, "parameter from must be before to"))
		return
	}
	bucket, err := intParam(r, "bucket_s", 3600, 300, 86400)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	flows, err := netmon.ReadFlows(r.Context(), s.opts.Store, cfg.ZonePoints(), from, to)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	zb, err := netmon.BalanceZones(n.ID, cfg, flows, from, to, int64(bucket))
	if err != nil {
		s.fail(w, r, errorf(http.StatusBadRequest, "%v", err))
		return
	}
	writeJSON(w, http.StatusOK, zb)
}

// leakEntry is a leak alarm with its details and work order.
type leakEntry struct {
	Alarm     alarm.Alarm    `json:"alarm"`
	Leak      alarm.Leak     `json:"leak"`
	WorkOrder *workOrderView `json:"work_order,omitempty"`
	// WaterLostM3 is the water lost from the estimated start until now, or
	// until the work order was closed (null when it cannot be computed).
	WaterLostM3 *float64 `json:"water_lost_m3"`
}

func (s *Server) networkLeaks(w http.ResponseWriter, r *http.Request, p *Principal) {
	n, err := s.networkByID(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	state := r.URL.Query().Get("state")
	if state != "" && state != "open" && state != "all" {
		s.fail(w, r, errorf(http.StatusBadRequest, "parameter state: open|all"))
		return
	}
	limit, err := intParam(r, "limit", 100, 1, 1000)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ns, _ := s.networks()
	evs, err := ns.LeakEvents(r.Context(), n.ID, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []leakEntry{}
	for _, ev := range evs {
		a, err := s.opts.Store.Alarm(r.Context(), ev.Alarm)
		if err != nil {
			continue
		}
		if state == "open" && !a.State.Open() {
			continue
		}
		e := leakEntry{Alarm: a, Leak: ev}
		if wos, err := ns.WorkOrders(r.Context(), workorder.Filter{Alarm: ev.Alarm, Limit: 1}); err == nil && len(wos) > 0 {
			wo := s.withWaterLost(r.Context(), wos[0])
			e.WorkOrder = &wo
			e.WaterLostM3 = wo.WaterLostM3
		} else {
			end := s.opts.Now()
			if !a.State.Open() {
				end = a.Cleared
			}
			e.WaterLostM3 = s.dispatch.LeakLost(n, ev, end)
		}
		out = append(out, e)
	}
	writeJSON(w, http.StatusOK, out)
}

// workOrderView is a work order as answered. Its water lost is null, with
// the reason in invalid, when the order's leak start or flow lie outside
// what the API accepts: a record stored before those bounds were checked
// must not stop the list from being served.
type workOrderView struct {
	workorder.Order
	WaterLostM3 *float64 `json:"water_lost_m3"`
	Invalid     string   `json:"invalid,omitempty"`
}

// withWaterLost fills in the water an order's leak has lost (so far, for an
// open order).
func (s *Server) withWaterLost(ctx context.Context, wo workorder.Order) workOrderView {
	v := workOrderView{Order: wo}
	v.WaterLostM3, v.Invalid = s.dispatch.WaterLost(ctx, wo)
	return v
}

func (s *Server) listWorkOrders(w http.ResponseWriter, r *http.Request, p *Principal) {
	ns, err := s.networks()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	f := workorder.Filter{Network: q.Get("network"), Limit: 500}
	switch st := q.Get("state"); st {
	case "", "all":
	case "open":
		f.Open = true
	case "assigned", "closed":
		f.State = workorder.State(st)
	default:
		s.fail(w, r, errorf(http.StatusBadRequest, "parameter state: open|assigned|closed|all"))
		return
	}
	if f.Network != "" {
		if _, err := s.networkByID(r.Context(), p, f.Network); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if park, ent := p.tenant(); park != "" {
		f.Park = park
	} else if ent != "" {
		f.Enterprise = ent
	}
	list, err := ns.WorkOrders(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []workOrderView{}
	for _, wo := range list {
		if s.workOrderVisible(r.Context(), p, wo) {
			out = append(out, s.withWaterLost(r.Context(), wo))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) workOrderVisible(ctx context.Context, p *Principal, wo workorder.Order) bool {
	if p.SeesAll() {
		return true
	}
	return s.networkVisible(ctx, p, store.Network{Park: wo.Park, Enterprise: wo.Enterprise})
}

// workOrderByPath returns the work order of the path the caller may see.
func (s *Server) workOrderByPath(r *http.Request, p *Principal) (workorder.Order, error) {
	ns, err := s.networks()
	if err != nil {
		return workorder.Order{}, err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return workorder.Order{}, errorf(http.StatusBadRequest, "work order id must be a number")
	}
	wo, err := ns.WorkOrder(r.Context(), id)
	if err != nil {
		return wo, err
	}
	if !s.workOrderVisible(r.Context(), p, wo) {
		return wo, forbidden()
	}
	return wo, nil
}

func (s *Server) getWorkOrder(w http.ResponseWriter, r *http.Request, p *Principal) {
	wo, err := s.workOrderByPath(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ns, _ := s.networks()
	hist, err := ns.WorkOrderHistory(r.Context(), wo.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := map[string]any{"work_order": s.withWaterLost(r.Context(), wo), "history": hist}
	if wo.Alarm != 0 {
		if ev, err := ns.LeakEvent(r.Context(), wo.Alarm); err == nil {
			out["leak"] = ev
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// actor names the caller in histories.
func actor(p *Principal) string {
	if p.Token.Name != "" {
		return p.Token.Name
	}
	return p.Token.ID
}

func (s *Server) createWorkOrder(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !p.CanHandleAlarms() {
		s.fail(w, r, errorf(http.StatusForbidden, "an auditor token cannot make work orders"))
		return
	}
	if _, err := s.networks(); err != nil {
		s.fail(w, r, err)
		return
	}
	var req struct {
		Alarm       int64     `json:"alarm"`
		Network     string    `json:"network"`
		Title       string    `json:"title"`
		Note        string    `json:"note"`
		LeakStart   time.Time `json:"leak_start"`
		LeakFlowM3H float64   `json:"leak_flow_m3h" bounds:"0,100000"` // [0, workorder.MaxLeakFlowM3H]
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	if req.Alarm != 0 {
		if _, err := s.alarms.Get(ctx, req.Alarm, p.sees()); errors.Is(err, alarms.ErrOutsideScope) {
			s.fail(w, r, forbidden())
			return
		} else if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	wo, err := s.dispatch.Prepare(ctx, dispatch.Request{Alarm: req.Alarm, Network: req.Network, Title: req.Title, Note: req.Note,
		LeakStart: req.LeakStart, LeakFlowM3H: req.LeakFlowM3H, By: actor(p)})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.networkByID(ctx, p, wo.Network); err != nil {
		s.fail(w, r, err)
		return
	}
	if wo, err = s.dispatch.Create(ctx, wo); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.withWaterLost(ctx, wo))
}

func (s *Server) assignWorkOrder(w http.ResponseWriter, r *http.Request, p *Principal) {
	var req struct {
		Assignee string `json:"assignee"`
		Note     string `json:"note"`
	}
	s.workOrderAction(w, r, p, &req, func(ctx context.Context, wo workorder.Order) (workorder.Order, error) {
		return s.dispatch.Assign(ctx, wo.ID, req.Assignee, actor(p), req.Note)
	})
}

func (s *Server) closeWorkOrder(w http.ResponseWriter, r *http.Request, p *Principal) {
	var req struct {
		RepairedLink string `json:"repaired_link"`
		Note         string `json:"note"`
	}
	s.workOrderAction(w, r, p, &req, func(ctx context.Context, wo workorder.Order) (workorder.Order, error) {
		return s.dispatch.Close(ctx, wo, actor(p), req.RepairedLink, req.Note)
	})
}

// workOrderAction checks role and scope, decodes the body into req and
// applies act.
func (s *Server) workOrderAction(w http.ResponseWriter, r *http.Request, p *Principal, req any,
	act func(ctx context.Context, wo workorder.Order) (workorder.Order, error)) {
	if !p.CanHandleAlarms() {
		s.fail(w, r, errorf(http.StatusForbidden, "an auditor token cannot change work orders"))
		return
	}
	wo, err := s.workOrderByPath(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := decode(r, req); err != nil {
		s.fail(w, r, err)
		return
	}
	wo, err = act(r.Context(), wo)
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			s.fail(w, r, errorf(http.StatusConflict, "work order %d is %s", wo.ID, workorder.Closed))
			return
		}
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.withWaterLost(r.Context(), wo))
}
