package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/shuixiao/shuixiao/internal/registry"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

func (s *Server) listRegions(w http.ResponseWriter, r *http.Request, p *Principal) {
	rs, err := s.opts.Store.Regions(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rs)
}

func (s *Server) listParks(w http.ResponseWriter, r *http.Request, p *Principal) {
	parks, err := s.opts.Store.Parks(r.Context(), store.Filter{Region: r.URL.Query().Get("region")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []meter.Park{}
	for _, pk := range parks {
		if p.CanSeePark(pk) {
			out = append(out, pk)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getPark(w http.ResponseWriter, r *http.Request, p *Principal) {
	pk, err := s.opts.Store.Park(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !p.CanSeePark(pk) {
		s.fail(w, r, forbidden())
		return
	}
	writeJSON(w, http.StatusOK, pk)
}

func (s *Server) createPark(w http.ResponseWriter, r *http.Request, p *Principal) {
	var pk meter.Park
	s.create(w, r, p, &pk, func(ctx context.Context) error { return s.opts.Store.CreatePark(ctx, pk) })
}

func (s *Server) createEnterprise(w http.ResponseWriter, r *http.Request, p *Principal) {
	var e meter.Enterprise
	s.create(w, r, p, &e, func(ctx context.Context) error { return s.opts.Store.CreateEnterprise(ctx, e) })
}

// createPoint registers a point (internal/registry): its entry goes on the
// ledger, then in the registry.
func (s *Server) createPoint(w http.ResponseWriter, r *http.Request, p *Principal) {
	var pt meter.Point
	s.create(w, r, p, &pt, func(ctx context.Context) error {
		_, err := s.points.Create(ctx, pt)
		return registryError(err)
	})
}

// updatePoint registers a new version of a point, through the ledger too.
func (s *Server) updatePoint(w http.ResponseWriter, r *http.Request, p *Principal) {
	var pt meter.Point
	s.save(w, r, p, http.StatusOK, &pt, func(ctx context.Context) error {
		if pt.ID != r.PathValue("id") {
			return errorf(http.StatusBadRequest, "point id %q in the body differs from %q in the path", pt.ID, r.PathValue("id"))
		}
		_, err := s.points.Update(ctx, pt)
		return registryError(err)
	})
}

// create decodes an admin's JSON object into v and stores it.
func (s *Server) create(w http.ResponseWriter, r *http.Request, p *Principal, v any, save func(context.Context) error) {
	s.save(w, r, p, http.StatusCreated, v, save)
}

// save decodes an admin's JSON object into v, stores it and answers status.
func (s *Server) save(w http.ResponseWriter, r *http.Request, p *Principal, status int, v any, save func(context.Context) error) {
	if !p.Admin() {
		s.fail(w, r, errorf(http.StatusForbidden, "only an admin token may change the registry"))
		return
	}
	if err := decode(r, v); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := save(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	s.invalidate()
	writeJSON(w, status, v)
}

// invalidate drops what the API derived from the registry.
func (s *Server) invalidate() {
	s.cache.mu.Lock()
	s.cache.m = nil
	s.cache.mu.Unlock()
}

// enterpriseEntity is an enterprise with the name of its industry.
type enterpriseEntity struct {
	meter.Enterprise
	IndustryName   string `json:"industry_name,omitempty"`
	IndustryNameEN string `json:"industry_name_en,omitempty"`
}

func withIndustry(e meter.Enterprise) enterpriseEntity {
	out := enterpriseEntity{Enterprise: e}
	if in, ok := meter.IndustryByCode(e.Industry); ok {
		out.IndustryName, out.IndustryNameEN = in.Name, in.NameEN
	}
	return out
}

func (s *Server) listEnterprises(w http.ResponseWriter, r *http.Request, p *Principal) {
	q := r.URL.Query()
	es, err := s.opts.Store.Enterprises(r.Context(), p.filter(store.Filter{Park: q.Get("park"), Region: q.Get("region")}))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []enterpriseEntity{}
	for _, e := range es {
		if p.CanSeeEnterprise(e) {
			out = append(out, withIndustry(e))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// enterprise returns an enterprise the caller may see (403 otherwise).
func (s *Server) enterprise(ctx context.Context, p *Principal, id string) (meter.Enterprise, error) {
	e, err := s.opts.Store.Enterprise(ctx, id)
	if err != nil {
		return e, err
	}
	if !p.CanSeeEnterprise(e) {
		return e, forbidden()
	}
	return e, nil
}

func (s *Server) getEnterprise(w http.ResponseWriter, r *http.Request, p *Principal) {
	e, err := s.enterprise(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, withIndustry(e))
}

func (s *Server) listPoints(w http.ResponseWriter, r *http.Request, p *Principal) {
	ent := r.URL.Query().Get("enterprise")
	if ent == "" {
		s.fail(w, r, errorf(http.StatusBadRequest, "parameter enterprise is required"))
		return
	}
	if _, err := s.enterprise(r.Context(), p, ent); err != nil {
		s.fail(w, r, err)
		return
	}
	pts, err := s.opts.Store.Points(r.Context(), store.Filter{Enterprise: ent})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pts)
}

// meterEntity is a meter as the API shows it.
type meterEntity struct {
	ID         string    `json:"id"`
	Point      string    `json:"point"`
	Enterprise string    `json:"enterprise"`
	Serial     string    `json:"serial,omitempty"`
	Model      string    `json:"model,omitempty"`
	Key        string    `json:"key"`
	Signed     string    `json:"signed"`
	Gateway    string    `json:"gateway,omitempty"` // the gateway whose key signs its readings
	Trust      string    `json:"trust"`             // meter-signed or gateway-signed
	Revoked    bool      `json:"revoked"`
	Registered time.Time `json:"registered"`
	IntervalS  int64     `json:"interval_s"`
	LastSeq    uint64    `json:"last_seq"`
	LastIndex  uint64    `json:"last_index"`
	LastTime   time.Time `json:"last_time,omitzero"`
	LastSeen   time.Time `json:"last_seen,omitzero"`
	Status     string    `json:"status"`
	Index      *uint64   `json:"index,omitempty"` // ledger index of a registration just made
}

func (s *Server) meterEntity(m meter.Meter, enterprise string) meterEntity {
	e := meterEntity{ID: m.ID, Point: m.Point, Enterprise: enterprise, Serial: m.Serial, Model: m.Model, Key: m.Key,
		Signed: string(m.Signed), Gateway: m.Gateway, Trust: m.Trust(), Revoked: m.Revoked, Registered: m.Registered, IntervalS: int64(m.Interval / time.Second)}
	seen, ok := s.opts.Live.Seen(m.ID)
	if ok {
		e.LastSeq, e.LastIndex, e.LastTime, e.LastSeen = seen.Seq, seen.Index, seen.Time, seen.Received
	}
	e.Status = meterStatus(m, seen, ok, s.opts.Now())
	return e
}

// meterStatus is online while the meter reported within three intervals.
func meterStatus(m meter.Meter, seen Seen, ok bool, now time.Time) string {
	if m.Revoked {
		return "revoked"
	}
	iv := m.Interval
	if iv <= 0 {
		iv = time.Minute
	}
	if ok && now.Sub(seen.Received) <= 3*iv {
		return "online"
	}
	return "offline"
}

// points returns the points of enterprises the caller may see, by ID.
func (s *Server) scopedPoints(ctx context.Context, p *Principal, enterprise string) (map[string]meter.Point, error) {
	pts, err := s.opts.Store.Points(ctx, p.filter(store.Filter{Enterprise: enterprise}))
	if err != nil {
		return nil, err
	}
	m := make(map[string]meter.Point, len(pts))
	for _, pt := range pts {
		m[pt.ID] = pt
	}
	return m, nil
}

func (s *Server) listMeters(w http.ResponseWriter, r *http.Request, p *Principal) {
	q := r.URL.Query()
	ent, point := q.Get("enterprise"), q.Get("point")
	if ent != "" {
		if _, err := s.enterprise(r.Context(), p, ent); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	pts, err := s.scopedPoints(r.Context(), p, ent)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ms, err := s.opts.Store.Meters(r.Context(), p.filter(store.Filter{Enterprise: ent, Point: point}))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []meterEntity{}
	for _, m := range ms {
		pt, ok := pts[m.Point]
		if !ok {
			continue
		}
		if ent2, err := s.enterprise(r.Context(), p, pt.Enterprise); err == nil {
			out = append(out, s.meterEntity(m, ent2.ID))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// meterInScope returns a meter, its point and enterprise if the caller may see it.
func (s *Server) meterInScope(ctx context.Context, p *Principal, id string) (meter.Meter, meter.Point, meter.Enterprise, error) {
	m, err := s.opts.Store.Meter(ctx, id)
	if err != nil {
		return m, meter.Point{}, meter.Enterprise{}, err
	}
	pt, err := s.opts.Store.Point(ctx, m.Point)
	if err != nil {
		return m, pt, meter.Enterprise{}, err
	}
	e, err := s.enterprise(ctx, p, pt.Enterprise)
	return m, pt, e, err
}

func (s *Server) getMeter(w http.ResponseWriter, r *http.Request, p *Principal) {
	m, _, e, err := s.meterInScope(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.meterEntity(m, e.ID))
}

// registerMeter registers a meter (internal/registry): its key goes on the
// ledger, then in the registry.
func (s *Server) registerMeter(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !p.Admin() {
		s.fail(w, r, errorf(http.StatusForbidden, "only an admin token may register meters"))
		return
	}
	var req meterRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	rr, err := req.registration()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	reg, err := s.meters.Register(r.Context(), rr)
	if err != nil {
		s.failRegistry(w, r, err)
		return
	}
	e := s.meterEntity(reg.Meter, reg.Enterprise)
	if !reg.Created {
		writeJSON(w, http.StatusOK, e)
		return
	}
	e.Index = &reg.Index
	writeJSON(w, http.StatusCreated, e)
}

// meterRequest is a meter registration as POST /api/v1/meters takes it.
type meterRequest struct {
	ID           string `json:"id"`
	Point        string `json:"point"`
	Key          string `json:"key"`
	Signed       string `json:"signed"`
	Gateway      string `json:"gateway"`
	Collector    string `json:"collector"`
	IntervalS    int64  `json:"interval_s"`
	Serial       string `json:"serial"`
	Model        string `json:"model"`
	MQTTPassword string `json:"mqtt_password"`
}

func (req *meterRequest) registration() (registry.Registration, error) {
	// Bounded here too, so that the conversion to a duration cannot overflow.
	if maxS := int64(registry.MaxInterval / time.Second); req.IntervalS < 0 || req.IntervalS > maxS {
		return registry.Registration{}, errorf(http.StatusBadRequest, "interval_s must be between 0 and %d", maxS)
	}
	return registry.Registration{ID: req.ID, Point: req.Point, Key: req.Key, Signed: meter.SigningSite(req.Signed), Gateway: req.Gateway,
		Collector: req.Collector, Interval: time.Duration(req.IntervalS) * time.Second, Serial: req.Serial, Model: req.Model,
		MQTTPassword: req.MQTTPassword}, nil
}

// failRegistry answers an error of internal/registry.
func (s *Server) failRegistry(w http.ResponseWriter, r *http.Request, err error) {
	s.fail(w, r, registryError(err))
}

// registryError gives an error of internal/registry its HTTP status.
func registryError(err error) error {
	switch {
	case errors.Is(err, registry.ErrInvalid):
		return errorf(http.StatusBadRequest, "%v", err)
	case errors.Is(err, registry.ErrConflict):
		return errorf(http.StatusConflict, "%v", err)
	}
	return err
}

func (s *Server) revokeMeter(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !p.Admin() {
		s.fail(w, r, errorf(http.StatusForbidden, "only an admin token may revoke meters"))
		return
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	id := r.PathValue("id")
	idx, err := s.meters.Revoke(r.Context(), id, req.Reason)
	if err != nil {
		s.failRegistry(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"meter": id, "revoked": true, "index": idx})
}
