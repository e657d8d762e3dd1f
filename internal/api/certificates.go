package api

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/shuixiao/shuixiao/certificate"
	"github.com/shuixiao/shuixiao/internal/rights"
	"github.com/shuixiao/shuixiao/internal/store"
)

// Water-rights certificates (水权证书): issue, transfer, retire and read
// them. Who may do what:
//   - issue: an admin, or a regulator whose scope covers the statement's
//     enterprise;
//   - transfer and retire: the holder — an enterprise token of the holding
//     enterprise — or an admin acting on its behalf (the entry names the
//     token that asked); regulators, parks and auditors may not move a
//     holding;
//   - read: a certificate is visible to whoever may see one of the
//     enterprises it has touched (first holder, transfer parties, retiring
//     holders); admins, auditors and province-wide regulators see all.

func init() { opDocs = append(opDocs, certificateDocs...) }

var certificateDocs = []opDoc{
	{method: "GET", path: "/api/v1/certificates", summary: "Water-rights certificates (水权证书) in the caller's scope with their holdings, and holders' balances", params: []string{"holder:query:false:enterprise ID: only certificates it has held"}},
	{method: "POST", path: "/api/v1/certificates", summary: "Issue a verified M&V statement's saving as a certificate held by its enterprise (admin, regulator over the enterprise): at most floor(savings − uncertainty) m³ per statement in total, only for a statement meeting ASHRAE Guideline 14 whose saving exceeds its uncertainty; a signed ledger entry first", body: `{"statement","volume" (m³, 0 or absent: the rest of the allowance),"certificate","operation" (optional IDs; the same request repeated with its operation ID gets the first answer again, another request with it is refused)}`},
	{method: "GET", path: "/api/v1/certificates/{id}", summary: "A certificate: statement, holdings, retired volume and its history (issue, transfers, retirement) with ledger indices and receipt links", params: []string{"id:path:true:certificate ID"}},
	{method: "POST", path: "/api/v1/certificates/{id}/transfer", summary: "Transfer volume of a certificate to another enterprise (the holder's enterprise token, or an admin for it); a part splits the holding", params: []string{"id:path:true:certificate ID"}, body: `{"from" (default: the caller's enterprise),"to","volume","operation"}`},
	{method: "POST", path: "/api/v1/certificates/{id}/retire", summary: "Retire volume of a certificate for good (the holder's enterprise token, or an admin for it)", params: []string{"id:path:true:certificate ID"}, body: `{"holder" (default: the caller's enterprise),"volume","purpose","operation"}`},
}

// certificateRoutes adds the routes above (called from routes).
func (s *Server) certificateRoutes(auth func(string, func(http.ResponseWriter, *http.Request, *Principal))) {
	auth("GET /api/v1/certificates", s.listCertificates)
	auth("POST /api/v1/certificates", s.issueCertificate)
	auth("GET /api/v1/certificates/{id}", s.getCertificate)
	auth("POST /api/v1/certificates/{id}/transfer", s.transferCertificate)
	auth("POST /api/v1/certificates/{id}/retire", s.retireCertificate)
}

// certificateService is the rights service (Options.Rights).
func (s *Server) certificateService() (*rights.Service, error) {
	if s.opts.Rights != nil {
		return s.opts.Rights, nil
	}
	return nil, errorf(http.StatusNotImplemented, "this server keeps no water-rights certificates (未启用水权证书)")
}

// certificateError maps the refusals of package certificate and rights to
// HTTP answers; the text is the reason.
func certificateError(err error) error {
	switch {
	case errors.Is(err, certificate.ErrUnknown):
		return errorf(http.StatusNotFound, "%v", err)
	case errors.Is(err, certificate.ErrReplayed), errors.Is(err, certificate.ErrExists), errors.Is(err, certificate.ErrOverIssue),
		errors.Is(err, certificate.ErrNotHolder), errors.Is(err, certificate.ErrUnverifiable), errors.Is(err, certificate.ErrOrder):
		return errorf(http.StatusConflict, "%v", err)
	case errors.Is(err, rights.ErrInvalid):
		return errorf(http.StatusBadRequest, "%v", err)
	case errors.Is(err, rights.ErrNoStatements):
		return errorf(http.StatusServiceUnavailable, "%v", err)
	}
	return err
}

type issueRequest struct {
	Statement   string `json:"statement"`
	Volume      uint64 `json:"volume"`
	Certificate string `json:"certificate"`
	Operation   string `json:"operation"`
}

type transferRequest struct {
	From      string `json:"from"`
	To        string `json:"to"`
	Volume    uint64 `json:"volume"`
	Operation string `json:"operation"`
}

type retireRequest struct {
	Holder    string `json:"holder"`
	Volume    uint64 `json:"volume"`
	Purpose   string `json:"purpose"`
	Operation string `json:"operation"`
}

// operationView is one certificate entry as the API answers it.
type operationView struct {
	Index   uint64    `json:"index"`
	Receipt string    `json:"receipt"` // the entry's inclusion proof (GET /api/v1/proof)
	Op      string    `json:"op"`
	ID      string    `json:"id"`
	From    string    `json:"from,omitempty"`
	To      string    `json:"to,omitempty"`
	Holder  string    `json:"holder,omitempty"`
	Volume  uint64    `json:"volume_m3"`
	Purpose string    `json:"purpose,omitempty"`
	Actor   string    `json:"actor"`
	Time    time.Time `json:"time"`
}

type holdingView struct {
	Holder string `json:"holder"`
	Volume uint64 `json:"volume_m3"`
}

type certificateView struct {
	ID          string          `json:"id"`
	Statement   string          `json:"statement"`
	Digest      string          `json:"statement_digest"`
	Checkpoint  uint64          `json:"checkpoint_size"`
	Enterprise  string          `json:"enterprise"`
	Allowance   uint64          `json:"statement_allowance_m3"` // floor(savings − uncertainty) of the statement
	Issued      uint64          `json:"statement_issued_m3"`    // issued on the statement so far, all certificates
	Volume      uint64          `json:"volume_m3"`
	Retired     uint64          `json:"retired_m3"`
	IssuedAt    time.Time       `json:"issued"`
	IssuedIndex uint64          `json:"issued_index"`
	Holdings    []holdingView   `json:"holdings"`
	History     []operationView `json:"history,omitempty"`
}

func viewOfOperation(ev certificate.Event) operationView {
	e := ev.Entry
	return operationView{Index: ev.Index, Receipt: fmt.Sprintf("/api/v1/proof?index=%d", ev.Index), Op: string(e.Op), ID: e.ID,
		From: e.From, To: e.To, Holder: e.Holder, Volume: e.Volume, Purpose: e.Purpose, Actor: e.Actor, Time: e.Time}
}

// viewOfCertificate is a certificate with issued, the m³ issued on its
// statement.
func viewOfCertificate(c certificate.Certificate, issued uint64, history bool) certificateView {
	v := certificateView{ID: c.ID, Statement: c.Statement, Digest: c.Digest, Checkpoint: c.Checkpoint, Enterprise: c.Enterprise,
		Allowance: c.Allowance, Issued: issued, Volume: c.Volume, Retired: c.Retired, IssuedAt: c.Issued, IssuedIndex: c.IssuedIndex,
		Holdings: []holdingView{}}
	for _, h := range slices.Sorted(maps.Keys(c.Holdings)) {
		v.Holdings = append(v.Holdings, holdingView{Holder: h, Volume: c.Holdings[h]})
	}
	if history {
		for _, ev := range c.History {
			v.History = append(v.History, viewOfOperation(ev))
		}
	}
	return v
}

// seer tells which enterprises a caller may see, looking each up once.
type seer struct {
	s    *Server
	p    *Principal
	seen map[string]bool
}

func (v *seer) sees(ctx context.Context, id string) bool {
	if v.p.SeesAll() {
		return true
	}
	if ok, done := v.seen[id]; done {
		return ok
	}
	_, err := v.s.enterprise(ctx, v.p, id)
	v.seen[id] = err == nil
	return err == nil
}

// seesCertificate: the caller may see one of the enterprises it touched.
func (v *seer) seesCertificate(ctx context.Context, c *certificate.Certificate) bool {
	return slices.ContainsFunc(c.Parties(), func(id string) bool { return v.sees(ctx, id) })
}

func (s *Server) listCertificates(w http.ResponseWriter, r *http.Request, p *Principal) {
	svc, err := s.certificateService()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	state, err := svc.State(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	holder := r.URL.Query().Get("holder")
	v := &seer{s: s, p: p, seen: map[string]bool{}}
	out := struct {
		Certificates []certificateView `json:"certificates"`
		Balances     []balanceView     `json:"balances"`
	}{Certificates: []certificateView{}, Balances: []balanceView{}}
	for _, c := range state.Certificates() {
		if holder != "" && !slices.Contains(c.Parties(), holder) {
			continue
		}
		if v.seesCertificate(r.Context(), &c) {
			issued, _ := state.Issued(c.Statement)
			out.Certificates = append(out.Certificates, viewOfCertificate(c, issued, false))
		}
	}
	for _, b := range state.Balances() {
		if (holder == "" || b.Holder == holder) && v.sees(r.Context(), b.Holder) {
			out.Balances = append(out.Balances, balanceView{Holder: b.Holder, Held: b.Held, Retired: b.Retired})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

type balanceView struct {
	Holder  string `json:"holder"`
	Held    uint64 `json:"held_m3"`
	Retired uint64 `json:"retired_m3"`
}

func (s *Server) getCertificate(w http.ResponseWriter, r *http.Request, p *Principal) {
	svc, err := s.certificateService()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	state, err := svc.State(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, ok := state.Certificate(r.PathValue("id"))
	if !ok {
		s.fail(w, r, errorf(http.StatusNotFound, "no certificate %s (无此水权证书)", r.PathValue("id")))
		return
	}
	if !(&seer{s: s, p: p, seen: map[string]bool{}}).seesCertificate(r.Context(), &c) {
		s.fail(w, r, forbidden())
		return
	}
	issued, _ := state.Issued(c.Statement)
	writeJSON(w, http.StatusOK, viewOfCertificate(c, issued, true))
}

func (s *Server) issueCertificate(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !p.Admin() && p.Role() != store.RoleRegulator {
		s.fail(w, r, errorf(http.StatusForbidden, "only an admin or a regulator may issue a certificate (仅管理员或监管部门可发放水权证书)"))
		return
	}
	svc, err := s.certificateService()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req issueRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := svc.Issue(r.Context(), rights.Issue{Statement: req.Statement, Volume: req.Volume, Certificate: req.Certificate,
		Operation: req.Operation, Issuer: p.Token.ID, Authorize: func(ctx context.Context, enterprise string) error {
			_, err := s.enterprise(ctx, p, enterprise)
			return err
		}})
	s.answerOperation(w, r, out, err)
}

// mayActFor refuses a caller that is neither an enterprise token of holder
// nor an admin.
func mayActFor(p *Principal, holder, what string) error {
	if p.Admin() || (p.Role() == store.RoleEnterprise && p.Token.Scope == holder) {
		return nil
	}
	return errorf(http.StatusForbidden, "only the holder %s (its enterprise token) or an admin may %s its certificates (仅持有企业或管理员可操作)", holder, what)
}

func (s *Server) transferCertificate(w http.ResponseWriter, r *http.Request, p *Principal) {
	var req transferRequest
	s.holderOperation(w, r, p, &req, &req.From, "transfer", func(svc *rights.Service) (rights.Outcome, error) {
		return svc.Transfer(r.Context(), rights.Transfer{Certificate: r.PathValue("id"), From: req.From, To: req.To,
			Volume: req.Volume, Operation: req.Operation, Actor: p.Token.ID})
	})
}

func (s *Server) retireCertificate(w http.ResponseWriter, r *http.Request, p *Principal) {
	var req retireRequest
	s.holderOperation(w, r, p, &req, &req.Holder, "retire", func(svc *rights.Service) (rights.Outcome, error) {
		return svc.Retire(r.Context(), rights.Retire{Certificate: r.PathValue("id"), Holder: req.Holder, Volume: req.Volume,
			Purpose: req.Purpose, Operation: req.Operation, Actor: p.Token.ID})
	})
}

// holderOperation decodes a transfer or retirement into req, takes the
// holder (*holder) from an enterprise token when the body names none,
// refuses a caller who may not act for that holder, and runs it.
func (s *Server) holderOperation(w http.ResponseWriter, r *http.Request, p *Principal, req any, holder *string, what string,
	run func(*rights.Service) (rights.Outcome, error)) {
	svc, err := s.certificateService()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := decode(r, req); err != nil {
		s.fail(w, r, err)
		return
	}
	if *holder == "" && p.Role() == store.RoleEnterprise {
		*holder = p.Token.Scope
	}
	if err := mayActFor(p, *holder, what); err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := run(svc)
	s.answerOperation(w, r, out, err)
}

// answerOperation answers an applied operation with its entry and the
// certificate as the operation left it, or the refusal. A retry (the
// request's operation ID on the ledger as the same operation) gets the
// same answer as the first time.
func (s *Server) answerOperation(w http.ResponseWriter, r *http.Request, out rights.Outcome, err error) {
	if err != nil {
		s.fail(w, r, certificateError(err))
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		Operation   operationView   `json:"operation"`
		Certificate certificateView `json:"certificate"`
	}{viewOfOperation(certificate.Event{Index: out.Index, Entry: out.Entry}), viewOfCertificate(out.Certificate, out.StatementIssued, true)})
}

// certificateEntryParties returns the enterprises a certificate entry
// names, for the ledger routes' tenant scope.
func certificateEntryParties(entry []byte) []string {
	e, err := certificate.Parse(entry)
	if err != nil {
		return nil
	}
	var out []string
	for _, id := range []string{e.Holder, e.From, e.To} {
		if id != "" {
			out = append(out, id)
		}
	}
	return out
}
