package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/shuixiao/shuixiao/directory"
	"github.com/shuixiao/shuixiao/internal/registries"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/quotacase"
	"github.com/shuixiao/shuixiao/target"
)

// The plan's registries (internal/registries): the above-scale flag, water
// managers, service providers, the technology catalogue, case links,
// search, and the evaluation's declared answers. Writes are audited like
// every write route.

func init() {
	opDocs = append(opDocs, []opDoc{
		{method: "PUT", path: "/api/v1/enterprises/{id}/scale", summary: "Set whether an enterprise is above scale (规模以上工业企业; admin, regulator of its region): the plan's reuse-rate target counts above-scale enterprises only", params: []string{"id:path:true:enterprise ID"}, body: `{"above_scale":true|false}`},
		{method: "GET", path: "/api/v1/enterprises/{id}/evaluation-answers", summary: "Answers to the declared basic requirements of the water-saving enterprise evaluation (GB/T 7119): the requirements, the latest answer to each and the history with who and when", params: []string{"id:path:true:enterprise ID"}},
		{method: "POST", path: "/api/v1/enterprises/{id}/evaluation-answers", summary: "Answer declared requirements (admin, regulator of its region, the enterprise itself): all stored or none; who and when recorded", params: []string{"id:path:true:enterprise ID"}, body: `{"answers":[{"requirement","met","note"}]}`},
		{method: "PUT", path: "/api/v1/enterprises/{id}/water-manager", summary: "Appoint an enterprise's water manager (水务经理; admin, regulator of its region, the enterprise itself); replaces the previous one", params: []string{"id:path:true:enterprise ID"}, body: `{"name","phone","email","certificate","appointed"}`},
		{method: "GET", path: "/api/v1/water-managers", summary: "Water-manager standing of the enterprises in the caller's scope: the manager, the year's intake (declared or metered, as the targets count it) and a flag on every enterprise above 100,000 m³ without one, flagged first", params: []string{"year:query:false:year of the intake (default: last year)", "flagged:query:false:1 for flagged enterprises only", "park:query:false:park ID", "region:query:false:GB/T 2260 code"}, computing: true},
		{method: "GET", path: "/api/v1/service-providers", summary: "Third-party service providers (工业水效提升第三方服务库): services, qualifications, the enterprises they served (those outside the caller's scope counted, not named)", params: []string{"service:query:false:water_balance_test|diagnosis|contract_saving|design", "q:query:false:words every match contains"}},
		{method: "GET", path: "/api/v1/service-providers/{id}", summary: "One service provider", params: []string{"id:path:true:provider ID"}},
		{method: "POST", path: "/api/v1/service-providers", summary: "Register a service provider (admin, regulator); the enterprises it served must be registered", body: `{"id","name","name_en","region","services":[…],"qualifications":[…],"contact","served":[{"enterprise","service","year"}]}`},
		{method: "PUT", path: "/api/v1/service-providers/{id}", summary: "Replace a service provider's record (admin, regulator)", params: []string{"id:path:true:provider ID"}, body: "the provider, same id"},
		{method: "GET", path: "/api/v1/technologies", summary: "The water-saving technology catalogue from the plan's industry lists (each row with the plan's line), with the retrofit cases linked to each (its typical cases) in the caller's scope", params: []string{"q:query:false:words every match contains", "industry:query:false:GB/T 4754 code"}},
		{method: "GET", path: "/api/v1/registries/search", summary: "Search technologies, service providers and (in the caller's scope) water managers", params: []string{"q:query:true:words every match contains"}},
		{method: "GET", path: "/api/v1/quota-cases/{id}/link", summary: "The service provider and technology a retrofit case is linked to; linked false when none", params: []string{"id:path:true:case ID"}},
		{method: "PUT", path: "/api/v1/quota-cases/{id}/link", summary: "Link a retrofit case to a service provider and a catalogue technology (admin, regulator, the enterprise of the case)", params: []string{"id:path:true:case ID"}, body: `{"provider","technology","note"}`},
	}...)
}

// registryRoutes adds the routes of this file.
func (s *Server) registryRoutes(auth func(string, func(http.ResponseWriter, *http.Request, *Principal))) {
	auth("PUT /api/v1/enterprises/{id}/scale", s.setAboveScale)
	auth("GET /api/v1/enterprises/{id}/evaluation-answers", s.evaluationAnswers)
	auth("POST /api/v1/enterprises/{id}/evaluation-answers", s.answerEvaluation)
	auth("PUT /api/v1/enterprises/{id}/water-manager", s.appointManager)
	auth("GET /api/v1/water-managers", s.waterManagers)
	auth("GET /api/v1/service-providers", s.listProviders)
	auth("GET /api/v1/service-providers/{id}", s.getProvider)
	auth("POST /api/v1/service-providers", s.putProvider(true))
	auth("PUT /api/v1/service-providers/{id}", s.putProvider(false))
	auth("GET /api/v1/technologies", s.technologies)
	auth("GET /api/v1/registries/search", s.searchRegistries)
	auth("GET /api/v1/quota-cases/{id}/link", s.caseLink)
	auth("PUT /api/v1/quota-cases/{id}/link", s.linkCase)
}

// registriesService is the use-case service, or a 501 when the store keeps
// no registries.
func (s *Server) registriesService() (*registries.Service, error) {
	if s.registries == nil {
		return nil, errorf(http.StatusNotImplemented, "this store keeps no registries (未启用登记库)")
	}
	return s.registries, nil
}

// canChangeEnterprise: admin, a regulator who sees it, or (when self is
// allowed) the enterprise's own token.
func canChangeEnterprise(p *Principal, self bool) bool {
	switch p.Role() {
	case store.RoleAdmin, store.RoleRegulator:
		return true
	case store.RoleEnterprise:
		return self
	}
	return false
}

// changeableEnterprise returns the enterprise of the path when the caller
// may see it and change its records.
func (s *Server) changeableEnterprise(ctx context.Context, p *Principal, id string, self bool) error {
	if !canChangeEnterprise(p, self) {
		if self {
			return errorf(http.StatusForbidden, "only admin, regulator and the enterprise's own tokens may change this (仅限管理员、监管和本企业令牌)")
		}
		return errorf(http.StatusForbidden, "only admin and regulator tokens may change this (仅限管理员和监管令牌)")
	}
	_, err := s.enterprise(ctx, p, id)
	return err
}

func (s *Server) setAboveScale(w http.ResponseWriter, r *http.Request, p *Principal) {
	var req struct {
		AboveScale *bool `json:"above_scale"`
	}
	svc, err := s.registriesService()
	if err == nil {
		err = s.changeableEnterprise(r.Context(), p, r.PathValue("id"), false)
	}
	if err == nil {
		err = decode(r, &req)
	}
	if err == nil && req.AboveScale == nil {
		err = errorf(http.StatusBadRequest, "field above_scale is missing (缺少 above_scale)")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	e, err := svc.SetAboveScale(r.Context(), r.PathValue("id"), *req.AboveScale)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, withIndustry(e))
}

func (s *Server) evaluationAnswers(w http.ResponseWriter, r *http.Request, p *Principal) {
	svc, err := s.registriesService()
	if err == nil {
		_, err = s.enterprise(r.Context(), p, r.PathValue("id"))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	as, err := svc.Answers(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, as)
}

func (s *Server) answerEvaluation(w http.ResponseWriter, r *http.Request, p *Principal) {
	var req struct {
		Answers []registries.AnswerInput `json:"answers"`
	}
	svc, err := s.registriesService()
	if err == nil {
		err = s.changeableEnterprise(r.Context(), p, r.PathValue("id"), true)
	}
	if err == nil {
		err = decode(r, &req)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	as, err := svc.Answer(r.Context(), r.PathValue("id"), req.Answers, p.Token.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"answers": as})
}

func (s *Server) appointManager(w http.ResponseWriter, r *http.Request, p *Principal) {
	var m directory.Manager
	svc, err := s.registriesService()
	if err == nil {
		err = s.changeableEnterprise(r.Context(), p, r.PathValue("id"), true)
	}
	if err == nil {
		err = decode(r, &m)
	}
	if err == nil && m.Enterprise != "" && m.Enterprise != r.PathValue("id") {
		err = errorf(http.StatusBadRequest, "field enterprise: %q differs from %q in the path", m.Enterprise, r.PathValue("id"))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	m.Enterprise = r.PathValue("id")
	m, err = svc.AppointManager(r.Context(), m, p.Token.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) waterManagers(w http.ResponseWriter, r *http.Request, p *Principal) {
	svc, err := s.registriesService()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	year := s.opts.Now().In(s.loc(r)).Year() - 1
	if v := q.Get("year"); v != "" {
		y, err := strconv.Atoi(v)
		if err != nil || y < target.BaseYear || y > year+1 {
			s.fail(w, r, errorf(http.StatusBadRequest, "parameter year: %q is not a year in %d–%d (年份无效)", v, target.BaseYear, year+1))
			return
		}
		year = y
	}
	ml, err := svc.ManagerList(r.Context(), p.filter(store.Filter{Park: q.Get("park"), Region: q.Get("region")}), year, q.Get("flagged") == "1")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ml)
}

// seesEnterprise is the caller's view of enterprises for
// registries.View: nil for a caller who sees them all.
func (s *Server) seesEnterprise(p *Principal) func(ctx context.Context, id string) bool {
	if p.SeesAll() {
		return nil
	}
	return func(ctx context.Context, id string) bool {
		_, err := s.enterprise(ctx, p, id)
		return err == nil
	}
}

func (s *Server) listProviders(w http.ResponseWriter, r *http.Request, p *Principal) {
	svc, err := s.registriesService()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	if len(q.Get("q")) > registries.MaxQuery {
		s.fail(w, r, errorf(http.StatusBadRequest, "parameter q: longer than %d bytes", registries.MaxQuery))
		return
	}
	ps, err := svc.Providers(r.Context(), directory.Service(q.Get("service")), q.Get("q"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []registries.ProviderView{}
	for _, pr := range ps {
		out = append(out, registries.View(r.Context(), pr, s.seesEnterprise(p)))
	}
	writeJSON(w, http.StatusOK, map[string]any{"services": directory.Services, "providers": out})
}

func (s *Server) getProvider(w http.ResponseWriter, r *http.Request, p *Principal) {
	svc, err := s.registriesService()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pr, err := svc.Provider(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, registries.View(r.Context(), pr, s.seesEnterprise(p)))
}

func (s *Server) putProvider(create bool) func(http.ResponseWriter, *http.Request, *Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *Principal) {
		var pr directory.Provider
		svc, err := s.registriesService()
		if err == nil && p.Role() != store.RoleAdmin && p.Role() != store.RoleRegulator {
			err = errorf(http.StatusForbidden, "only admin and regulator tokens keep the service-provider library (仅限管理员和监管令牌)")
		}
		if err == nil {
			err = decode(r, &pr)
		}
		if err == nil && !create && pr.ID != r.PathValue("id") {
			err = errorf(http.StatusBadRequest, "field id: %q differs from %q in the path", pr.ID, r.PathValue("id"))
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		pr, err = svc.PutProvider(r.Context(), pr, create, p.Token.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		status := http.StatusOK
		if create {
			status = http.StatusCreated
		}
		writeJSON(w, status, pr)
	}
}

// caseVisible reports whether the caller may see a retrofit case: as its
// enterprise, whose park and region the case keeps.
func caseVisible(p *Principal) func(quotacase.Case) bool {
	return func(c quotacase.Case) bool {
		return p.CanSeeEnterprise(meter.Enterprise{ID: c.Enterprise, Park: c.Park, Region: c.Region})
	}
}

func (s *Server) technologies(w http.ResponseWriter, r *http.Request, p *Principal) {
	svc, err := s.registriesService()
	q := r.URL.Query()
	if err == nil && len(q.Get("q")) > registries.MaxQuery {
		err = errorf(http.StatusBadRequest, "parameter q: longer than %d bytes", registries.MaxQuery)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ts, err := svc.Technologies(r.Context(), q.Get("q"), q.Get("industry"), caseVisible(p))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"source":       "湖南省工业水效提升三年行动方案（2023-2025年）（征求意见稿）: 专栏1, 专栏2, 专栏3 and line 37",
		"technologies": ts,
	})
}

func (s *Server) searchRegistries(w http.ResponseWriter, r *http.Request, p *Principal) {
	svc, err := s.registriesService()
	q := r.URL.Query().Get("q")
	if err == nil && q == "" {
		err = errorf(http.StatusBadRequest, "parameter q is required (缺少检索词)")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	hits, err := svc.Search(r.Context(), q, p.filter(store.Filter{}))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"q": q, "hits": hits})
}

func (s *Server) caseLink(w http.ResponseWriter, r *http.Request, p *Principal) {
	svc, err := s.registriesService()
	var c quotacase.Case
	if err == nil {
		c, err = s.quotaCase(r.Context(), p, r.PathValue("id"))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l, ok, err := svc.CaseLink(r.Context(), c.ID)
	l.Case = c.ID
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// A case without a link answers its ID and linked false.
	writeJSON(w, http.StatusOK, struct {
		directory.CaseLink
		Linked bool `json:"linked"`
	}{l, ok})
}

func (s *Server) linkCase(w http.ResponseWriter, r *http.Request, p *Principal) {
	var req struct {
		Provider   string `json:"provider"`
		Technology string `json:"technology"`
		Note       string `json:"note"`
	}
	svc, err := s.registriesService()
	if err == nil && !canChangeEnterprise(p, true) {
		err = errorf(http.StatusForbidden, "only admin, regulator and the enterprise's own tokens link a case (仅限管理员、监管和本企业令牌)")
	}
	var c quotacase.Case
	if err == nil {
		c, err = s.quotaCase(r.Context(), p, r.PathValue("id"))
	}
	if err == nil {
		err = decode(r, &req)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l, err := svc.LinkCase(r.Context(), directory.CaseLink{Case: c.ID, Provider: req.Provider, Technology: req.Technology, Note: req.Note}, p.Token.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, l)
}
