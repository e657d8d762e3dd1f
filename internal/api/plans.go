package api

import (
	"context"
	"net/http"
	"time"

	"github.com/shuixiao/shuixiao/internal/planuse"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/watercarbon"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/waterplan"
)

// Planned use and permits (internal/planuse) and water–carbon accounts
// (internal/watercarbon): the enterprise, its park and the regulator read;
// admin and regulator tokens write plans and permits of enterprises they
// can see.

// planService is the plan and permit use cases, or 501 when the server
// tracks none.
func (s *Server) planService() (*planuse.Service, error) {
	if s.plans == nil {
		return nil, errorf(http.StatusNotImplemented, "this store keeps no water-use plans (存储不支持用水计划)")
	}
	return s.plans, nil
}

// planWriter is the plan service for a caller who may write plans and
// permits: admin and regulator only.
func (s *Server) planWriter(p *Principal) (*planuse.Service, error) {
	switch p.Role() {
	case store.RoleAdmin, store.RoleRegulator:
		if s.plans == nil || !s.plans.Writable() {
			return nil, errorf(http.StatusNotImplemented, "this store keeps no water-use plans (存储不支持用水计划)")
		}
		return s.plans, nil
	}
	return nil, errorf(http.StatusForbidden, "only admin and regulator tokens set plans and permits (仅限管理员和监管令牌)")
}

// planScope is the tenant scope the plan use cases check an enterprise
// against: the caller must see it.
func (s *Server) planScope(p *Principal) planuse.Scope {
	return func(ctx context.Context, id string) error {
		_, err := s.enterprise(ctx, p, id)
		return err
	}
}

// planBoard returns the year's board, or 501 when the server tracks none.
func (s *Server) planBoard(ctx context.Context, year int) (*planuse.Board, error) {
	svc, err := s.planService()
	if err != nil {
		return nil, err
	}
	return svc.Board(ctx, year)
}

// planYear reads ?year= within 2000 to next year (plans are set ahead).
func (s *Server) planYear(r *http.Request) (int, error) {
	now := s.opts.Now().In(s.loc(r)).Year()
	return intParam(r, "year", now, 2000, now+1)
}

// plansOverview answers GET /api/v1/plans: the rows and parks the caller
// may see, and the province for those who see it whole.
func (s *Server) plansOverview(w http.ResponseWriter, r *http.Request, p *Principal) {
	year, err := s.planYear(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.planBoard(r.Context(), year)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := struct {
		Year       int                `json:"year"`
		Through    time.Time          `json:"through"`
		Computed   time.Time          `json:"computed"`
		Thresholds []float64          `json:"thresholds"`
		Schedule   waterplan.Schedule `json:"schedule"`
		Rows       []planuse.Row      `json:"rows"`
		Parks      []planuse.Park     `json:"parks"`
		Province   *planuse.Park      `json:"province,omitempty"`
	}{Year: b.Year, Through: b.Through, Computed: b.Computed, Thresholds: b.Thresholds, Schedule: b.Schedule, Rows: []planuse.Row{}, Parks: []planuse.Park{}}
	for _, row := range b.Rows {
		if p.CanSeeEnterprise(meter.Enterprise{ID: row.Enterprise, Park: row.Park, Region: row.Region}) {
			out.Rows = append(out.Rows, row)
		}
	}
	for _, pk := range b.Parks {
		if p.CanSeePark(meter.Park{ID: pk.Park, Region: pk.Region}) {
			out.Parks = append(out.Parks, pk)
		}
	}
	if p.seesProvince(s.province()) {
		out.Province = &b.Province
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) province() string {
	if s.rollup != nil && s.rollup.Opts.Province != "" {
		return s.rollup.Opts.Province
	}
	return "430000"
}

// enterprisePlan answers GET /api/v1/enterprises/{id}/plan: the year's
// tracking (months against plan, permits, tiers, crossings).
func (s *Server) enterprisePlan(w http.ResponseWriter, r *http.Request, p *Principal) {
	e, err := s.enterprise(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	year, err := s.planYear(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	svc, err := s.planService()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := svc.EnterpriseStatus(r.Context(), e.ID, year)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// planInput is the body of PUT /api/v1/enterprises/{id}/plan: the year,
// the annual figure and optionally the months (else split by days).
type planInput struct {
	Year      int          `json:"year" bounds:"2000,2100"`
	AnnualM3  float64      `json:"annual_m3" bounds:"0,1e10"`
	MonthlyM3 *[12]float64 `json:"monthly_m3,omitempty" bounds:"0,1e10"`
}

// putPlan answers PUT /api/v1/enterprises/{id}/plan.
func (s *Server) putPlan(w http.ResponseWriter, r *http.Request, p *Principal) {
	ctx := r.Context()
	svc, err := s.planWriter(p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	e, err := s.enterprise(ctx, p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var in planInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	plan, err := svc.SetPlan(ctx, e.ID, in.Year, in.AnnualM3, in.MonthlyM3)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, plan)
}

// enterprisePermits answers GET /api/v1/enterprises/{id}/permits.
func (s *Server) enterprisePermits(w http.ResponseWriter, r *http.Request, p *Principal) {
	e, err := s.enterprise(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	svc, err := s.planService()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	list, err := svc.Permits(r.Context(), e.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

// putPermit answers PUT /api/v1/permits/{id}: a permit stored under its
// number; overlapping validity for the same source is refused (409).
func (s *Server) putPermit(w http.ResponseWriter, r *http.Request, p *Principal) {
	svc, err := s.planWriter(p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var pm waterplan.Permit
	if err := decode(r, &pm); err != nil {
		s.fail(w, r, err)
		return
	}
	if pm.ID == "" {
		pm.ID = r.PathValue("id")
	}
	if pm.ID != r.PathValue("id") {
		s.fail(w, r, errorf(http.StatusBadRequest, "permit id %q in the body differs from %q in the path", pm.ID, r.PathValue("id")))
		return
	}
	pm, err = svc.PutPermit(r.Context(), pm, s.planScope(p))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pm)
}

// deletePermit answers DELETE /api/v1/permits/{id}.
func (s *Server) deletePermit(w http.ResponseWriter, r *http.Request, p *Principal) {
	svc, err := s.planWriter(p)
	if err == nil {
		err = svc.DeletePermit(r.Context(), r.PathValue("id"), s.planScope(p))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// parkHeadroom answers GET /api/v1/parks/{id}/headroom: the park's
// allocation, intake so far, remainder and the production it allows
// (以水定产), with its enterprises' rows.
func (s *Server) parkHeadroom(w http.ResponseWriter, r *http.Request, p *Principal) {
	pk, err := s.opts.Store.Park(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !p.CanSeePark(pk) {
		s.fail(w, r, forbidden())
		return
	}
	year, err := s.planYear(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	svc, err := s.planService()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := svc.Headroom(r.Context(), pk, year)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// carbonAccounts answers GET /api/v1/carbon?level=province|park|enterprise&id=&year=:
// the electricity attributable to water and its CO₂ for the year to date,
// with the factors used; a park comes with its enterprises, the province
// with its parks.
func (s *Server) carbonAccounts(w http.ResponseWriter, r *http.Request, p *Principal) {
	ctx := r.Context()
	q := r.URL.Query()
	level, id := q.Get("level"), q.Get("id")
	if level == "" {
		level = watercarbon.LevelProvince
	}
	year, err := s.yearParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	switch level {
	case watercarbon.LevelProvince:
		if !p.seesProvince(s.province()) {
			err = forbidden()
		}
	case watercarbon.LevelPark:
		var pk meter.Park
		if pk, err = s.opts.Store.Park(ctx, id); err == nil && !p.CanSeePark(pk) {
			err = forbidden()
		}
	case watercarbon.LevelEnterprise:
		_, err = s.enterprise(ctx, p, id)
	default:
		err = errorf(http.StatusBadRequest, "parameter level: %q is not province, park or enterprise (层级无效)", level)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	acc, err := s.carbon.Accounts(ctx, year, level, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, acc)
}

// importPlans answers POST /api/v1/plans/import: plans as CSV
// (waterplan.ParsePlansCSV; at most 8 MiB), all stored or none: every
// refused row is reported with its line and field, an enterprise unknown
// or outside the caller's scope refuses the file.
func (s *Server) importPlans(w http.ResponseWriter, r *http.Request, p *Principal) {
	svc, err := s.planWriter(p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := svc.ImportPlans(r.Context(), http.MaxBytesReader(w, r.Body, 8<<20), s.planScope(p))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"stored": n})
}
