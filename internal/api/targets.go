package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/shuixiao/shuixiao/internal/rollup"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/target"
)

// yearParam reads ?year= (default the current year) within the plan's
// years: 2020 to the current year.
func (s *Server) yearParam(r *http.Request) (int, error) {
	now := s.opts.Now().In(s.loc(r)).Year()
	v := r.URL.Query().Get("year")
	if v == "" {
		return now, nil
	}
	y, err := strconv.Atoi(v)
	if err != nil || y < target.BaseYear || y > now {
		return 0, errorf(http.StatusBadRequest, "parameter year: %q is not a year in %d–%d (年份无效)", v, target.BaseYear, now)
	}
	return y, nil
}

// seesProvince reports whether the caller may see the province as a whole:
// admin, auditor, or a regulator of the whole province.
func (p *Principal) seesProvince(province string) bool {
	return p.SeesAll() || p.Role() == store.RoleRegulator && p.Token.Scope == province
}

// targets answers GET /api/v1/targets: a unit's progress on the plan's
// targets for a year (internal/rollup, from cached snapshots).
func (s *Server) targets(w http.ResponseWriter, r *http.Request, p *Principal) {
	res, err := s.targetProgress(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// targetProgress is the progress of the unit ?level&code for ?year, if the
// caller may see that unit.
func (s *Server) targetProgress(r *http.Request, p *Principal) (rollup.Targets, error) {
	ctx := r.Context()
	level := target.Level(r.URL.Query().Get("level"))
	code := r.URL.Query().Get("code")
	if level == "" {
		level = target.LevelProvince
	}
	year, err := s.yearParam(r)
	if err != nil {
		return rollup.Targets{}, err
	}
	province := s.rollup.Opts.Province
	if province == "" {
		province = "430000"
	}
	need := func(ok bool) error {
		if !ok {
			return forbidden()
		}
		return nil
	}
	switch level {
	case target.LevelProvince:
		err = need(p.seesProvince(province))
	case target.LevelIndustry:
		// An industry spans the province's cities and parks.
		err = need(p.seesProvince(province))
	case target.LevelCity:
		if code == "" {
			err = errorf(http.StatusBadRequest, "parameter code: a city's GB/T 2260 code is needed (缺少城市代码)")
		} else {
			err = need(p.SeesAll() || p.Role() == store.RoleRegulator && inRegion(code, p.Token.Scope))
		}
	case target.LevelPark:
		pk, e := s.opts.Store.Park(ctx, code)
		if err = e; err == nil {
			err = need(p.CanSeePark(pk))
		}
	case target.LevelEnterprise:
		_, err = s.enterprise(ctx, p, code)
	default:
		err = errorf(http.StatusBadRequest, "parameter level: %q is not province, city, park, industry or enterprise (层级无效)", level)
	}
	if err != nil {
		return rollup.Targets{}, err
	}
	refresh := r.URL.Query().Get("refresh") == "1"
	if refresh && !p.seesProvince(province) {
		// A new computation: for those who may see the whole province.
		return rollup.Targets{}, forbidden()
	}
	return s.rollup.Targets(level, code, year, refresh)
}

// writeComputing answers a question whose roll-up is being computed: 202
// Accepted with the computation's progress, a Retry-After of a tenth of
// the time it has run (1–30 s), and the Location to poll — the same
// question without refresh, so that polling does not start another.
func writeComputing(w http.ResponseWriter, r *http.Request, ce *rollup.ComputingError) {
	u := *r.URL
	q := u.Query()
	q.Del("refresh")
	u.RawQuery = q.Encode()
	w.Header().Set("Location", u.RequestURI())
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter(time.Duration(ce.ElapsedMs)*time.Millisecond)))
	writeJSON(w, http.StatusAccepted, computingAnswer{Status: "computing", Message: ce.Error(), Computing: ce.Computing})
}

// computingAnswer is the body of a 202 answer.
type computingAnswer struct {
	Status  string `json:"status"` // "computing"
	Message string `json:"message"`
	rollup.Computing
}

// retryAfter is the seconds a poller waits before asking again: a tenth of
// the time the computation has run, 1 to 30 s.
func retryAfter(elapsed time.Duration) int {
	return int(min(max(elapsed/10, time.Second), 30*time.Second) / time.Second)
}

// evaluation answers GET /api/v1/evaluation/{enterprise}: the GB/T 7119
// water-saving enterprise evaluation of a year.
func (s *Server) evaluation(w http.ResponseWriter, r *http.Request, p *Principal) {
	e, err := s.enterprise(r.Context(), p, r.PathValue("enterprise"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	year, err := s.yearParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.rollup.Evaluate(r.Context(), e.ID, year)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// benchmark answers GET /api/v1/benchmark: an industry's enterprises ranked
// by intake per unit of a product. Enterprises outside the caller's scope
// keep their place and figure but not their name.
func (s *Server) benchmark(w http.ResponseWriter, r *http.Request, p *Principal) {
	q := r.URL.Query()
	industry, product := q.Get("industry"), q.Get("product")
	if industry == "" || product == "" {
		s.fail(w, r, errorf(http.StatusBadRequest, "parameters industry and product are needed (缺少行业或产品)"))
		return
	}
	year, err := s.yearParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.rollup.Benchmark(r.Context(), industry, product, year)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !p.SeesAll() {
		ents, err := s.opts.Store.Enterprises(r.Context(), p.filter(store.Filter{}))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		visible := map[string]bool{}
		for _, e := range ents {
			visible[e.ID] = p.CanSeeEnterprise(e)
		}
		for i := range res.Ranked {
			if !visible[res.Ranked[i].Enterprise] {
				res.Ranked[i].Enterprise, res.Ranked[i].Name = "", ""
			}
		}
	}
	writeJSON(w, http.StatusOK, res)
}
