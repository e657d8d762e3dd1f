package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/internal/efficiency"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/quotacase"
)

// maxPeriodDays bounds the period of a balance, the quota board and a
// review.
const maxPeriodDays = 366

// period reads from and to (docs/api.md): dates YYYY-MM-DD naming the
// first and the last day (UTC+8, both included), or RFC 3339 times (to
// exclusive); date=D is from=D&to=D; the default is yesterday. At most
// maxPeriodDays.
func (s *Server) period(r *http.Request) (time.Time, time.Time, error) {
	q := r.URL.Query()
	from, to := q.Get("from"), q.Get("to")
	if from == "" && to == "" {
		if d := q.Get("date"); d != "" {
			from, to = d, d
		}
	}
	if from == "" && to == "" {
		now := s.opts.Now().In(production.Zone)
		today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, production.Zone)
		return today.AddDate(0, 0, -1), today, nil
	}
	if from == "" || to == "" {
		return time.Time{}, time.Time{}, errorf(http.StatusBadRequest, "parameters from and to: give both (YYYY-MM-DD, both days included) or neither (yesterday)")
	}
	f, t, err := production.ParsePeriod(from, to)
	if err != nil {
		return time.Time{}, time.Time{}, errorf(http.StatusBadRequest, "parameter %v", err)
	}
	for _, x := range []struct {
		name string
		t    time.Time
	}{{"from", f}, {"to", t}} {
		if err := checkTime("parameter "+x.name, x.t); err != nil {
			return time.Time{}, time.Time{}, err
		}
	}
	if !t.After(f) {
		return time.Time{}, time.Time{}, errorf(http.StatusBadRequest, "parameter to: the period ends before it starts")
	}
	if t.Sub(f) > maxPeriodDays*24*time.Hour {
		return time.Time{}, time.Time{}, errorf(http.StatusBadRequest, "parameters from, to: the period has %.0f days, more than %d", t.Sub(f).Hours()/24, maxPeriodDays)
	}
	return f, t, nil
}

// checkpoint reads the latest signed checkpoint, nil without a ledger.
func (s *Server) checkpoint(ctx context.Context) *efficiency.Checkpoint {
	if s.opts.Ledger == nil {
		return nil
	}
	raw, err := s.opts.Ledger.Checkpoint(ctx)
	if err != nil {
		return nil
	}
	lines := strings.SplitN(string(raw), "\n", 4)
	if len(lines) < 3 {
		return nil
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		return nil
	}
	return &efficiency.Checkpoint{Size: size, RootHash: lines[2], Text: string(raw)}
}

// enterpriseBalance is an enterprise's balance over a period
// (efficiency.EnterpriseBalance) with the checkpoint read before it.
func (s *Server) enterpriseBalance(w http.ResponseWriter, r *http.Request, p *Principal) {
	e, err := s.enterprise(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	from, to, err := s.period(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.periodBalance(r.Context(), e, from, to)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The trust of the data behind the figures (meter- or gateway-signed,
	// per point and for the whole) travels beside the balance.
	trust, err := efficiency.EnterpriseTrust(r.Context(), s.opts.Store, e.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(b, &out); err != nil {
		s.fail(w, r, err)
		return
	}
	if out["trust"], err = json.Marshal(trust); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// periodBalance is an enterprise's balance over [from, to) with the
// checkpoint read before it, cached a few seconds for the balance route
// and the report downloads alike.
func (s *Server) periodBalance(ctx context.Context, e meter.Enterprise, from, to time.Time) (efficiency.Result, error) {
	key := joinKey("balance", e.ID, from.Format(time.RFC3339), to.Format(time.RFC3339))
	v, err := s.cache.get(key, s.opts.Now(), 5*time.Second, func() (any, error) {
		cp := s.checkpoint(ctx)
		res, err := efficiency.EnterpriseBalance(ctx, s.opts.Store, e.ID, from, to)
		if err != nil {
			return nil, err
		}
		res.Checkpoint = cp
		return res, nil
	})
	if err != nil {
		return efficiency.Result{}, err
	}
	return v.(efficiency.Result), nil
}

// visibleEnterprises lists the enterprises the caller may see.
func (s *Server) visibleEnterprises(ctx context.Context, p *Principal) ([]meter.Enterprise, error) {
	ents, err := s.opts.Store.Enterprises(ctx, p.filter(store.Filter{}))
	if err != nil {
		return nil, err
	}
	out := ents[:0]
	for _, e := range ents {
		if p.CanSeeEnterprise(e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// enterprisesParam is the enterprise query parameter checked against the
// caller's scope, else every enterprise the caller may see.
func (s *Server) enterprisesParam(r *http.Request, p *Principal) ([]meter.Enterprise, error) {
	if id := r.URL.Query().Get("enterprise"); id != "" {
		e, err := s.enterprise(r.Context(), p, id)
		if err != nil {
			return nil, err
		}
		return []meter.Enterprise{e}, nil
	}
	return s.visibleEnterprises(r.Context(), p)
}

func ids(ents []meter.Enterprise) []string {
	out := make([]string, len(ents))
	for i, e := range ents {
		out[i] = e.ID
	}
	return out
}

// listProduction answers GET /api/v1/production.
func (s *Server) listProduction(w http.ResponseWriter, r *http.Request, p *Principal) {
	q := r.URL.Query()
	f := production.Filter{Kind: production.Kind(q.Get("kind"))}
	if f.Kind != "" && !f.Kind.Valid() {
		s.fail(w, r, errorf(http.StatusBadRequest, "parameter kind: unknown kind %q", f.Kind))
		return
	}
	if q.Get("from") != "" || q.Get("to") != "" {
		var err error
		if f.From, f.To, err = s.period(r); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	ents, err := s.enterprisesParam(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	recs := []production.Record{}
	if len(ents) > 0 {
		if !p.SeesAll() || q.Get("enterprise") != "" {
			f.Enterprises = ids(ents)
		}
		got, err := s.opts.Store.ProductionRecords(r.Context(), f)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for i := range got {
			got[i].ReportedAt = got[i].ReportedAt.In(production.Zone)
		}
		recs = append(recs, got...)
	}
	writeJSON(w, http.StatusOK, recs)
}

// productionInput is a record as a JSON upload gives it: dates as text.
type productionInput struct {
	Enterprise string  `json:"enterprise"`
	Kind       string  `json:"kind"`
	Product    string  `json:"product"`
	Quantity   float64 `json:"quantity"`
	Unit       string  `json:"unit"`
	From       string  `json:"from"`
	To         string  `json:"to"`
	Note       string  `json:"note"`
}

// Upload content types of POST /api/v1/production.
const (
	ctJSON = "application/json"
	ctCSV  = "text/csv"
	// XLSXContentType is the media type of an XLSX upload.
	XLSXContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// readUpload decodes a production upload by its content type.
func readUpload(r *http.Request) ([]production.Row, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body := http.MaxBytesReader(nil, r.Body, production.MaxUploadBytes)
	switch ct {
	case ctCSV:
		return production.ReadCSV(body, "CSV")
	case XLSXContentType:
		return production.ReadXLSX(body, "XLSX")
	case ctJSON, "":
		var in []productionInput
		if err := decodeFrom(body, &in); err != nil {
			return nil, err
		}
		if len(in) == 0 {
			return nil, errors.New("no records in the array")
		}
		if len(in) > production.MaxUploadRows {
			return nil, errors.New("more than " + strconv.Itoa(production.MaxUploadRows) + " records")
		}
		rows := make([]production.Row, 0, len(in))
		var errs []string
		for i, x := range in {
			at := "record " + strconv.Itoa(i+1)
			rec := production.Record{Enterprise: x.Enterprise, Kind: production.Kind(x.Kind), Product: x.Product, Quantity: x.Quantity,
				Unit: x.Unit, Note: x.Note}
			var err error
			if rec.From, rec.To, err = production.ParsePeriod(x.From, x.To); err == nil {
				err = rec.Validate()
			}
			if err != nil {
				errs = append(errs, at+", "+err.Error())
				continue
			}
			rows = append(rows, production.Row{At: at, Record: rec})
		}
		if len(errs) > 0 {
			return nil, errors.New(strings.Join(errs, "\n"))
		}
		return rows, nil
	}
	return nil, errors.New("Content-Type must be " + ctJSON + ", " + ctCSV + " or " + XLSXContentType + ", not " + ct)
}

// addProduction answers POST /api/v1/production: all rows stored or none.
func (s *Server) addProduction(w http.ResponseWriter, r *http.Request, p *Principal) {
	switch p.Role() {
	case store.RoleAdmin, store.RoleRegulator, store.RoleEnterprise:
	default:
		s.fail(w, r, errorf(http.StatusForbidden, "only admin, regulator and enterprise tokens report production (仅限管理员、监管和企业令牌)"))
		return
	}
	rows, err := readUpload(r)
	if err != nil {
		var he *httpError
		if errors.As(err, &he) {
			s.fail(w, r, err)
			return
		}
		s.fail(w, r, errorf(http.StatusBadRequest, "上传被拒绝，未保存任何记录 / upload refused, nothing stored:\n%v", err))
		return
	}
	prod := &efficiency.Production{Store: s.opts.Store, Invalidate: s.rollup.Invalidate, Now: s.opts.Now}
	recs, idList, err := prod.Report(r.Context(), rows, p.Token.ID, p.CanSeeEnterprise)
	if err != nil {
		if errors.Is(err, efficiency.ErrOutsideScope) {
			err = errorf(http.StatusForbidden, "%v", err)
		}
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"stored": len(recs), "ids": idList, "records": recs})
}

// quotaBoard answers GET /api/v1/quota-board.
func (s *Server) quotaBoard(w http.ResponseWriter, r *http.Request, p *Principal) {
	from, to, err := s.period(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	key := joinKey("quota-board", p.Token.ID, from.Format(time.RFC3339), to.Format(time.RFC3339))
	v, err := s.cache.get(key, s.opts.Now(), 15*time.Second, func() (any, error) {
		ents, err := s.visibleEnterprises(r.Context(), p)
		if err != nil {
			return nil, err
		}
		return efficiency.QuotaBoard(r.Context(), s.opts.Store, ents, from, to)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// listQuotaCases answers GET /api/v1/quota-cases.
func (s *Server) listQuotaCases(w http.ResponseWriter, r *http.Request, p *Principal) {
	q := r.URL.Query()
	f := quotacase.Filter{State: quotacase.State(q.Get("state"))}
	if f.State != "" && !f.State.Valid() {
		s.fail(w, r, errorf(http.StatusBadRequest, "parameter state: unknown state %q (open, plan_submitted, in_progress, overdue, closed)", f.State))
		return
	}
	ents, err := s.enterprisesParam(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cases := []quotacase.Case{}
	if len(ents) > 0 {
		if !p.SeesAll() || q.Get("enterprise") != "" {
			f.Enterprises = ids(ents)
		}
		got, err := s.opts.Store.QuotaCases(r.Context(), f)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		cases = append(cases, got...)
	}
	writeJSON(w, http.StatusOK, cases)
}

// quotaCase returns a case the caller may see.
func (s *Server) quotaCase(ctx context.Context, p *Principal, idText string) (quotacase.Case, error) {
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 {
		return quotacase.Case{}, errorf(http.StatusBadRequest, "case id %q is not a positive integer", idText)
	}
	c, err := s.opts.Store.QuotaCase(ctx, id)
	if err != nil {
		return c, err
	}
	if _, err := s.enterprise(ctx, p, c.Enterprise); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return c, forbidden()
		}
		return c, err
	}
	return c, nil
}

func (s *Server) getQuotaCase(w http.ResponseWriter, r *http.Request, p *Principal) {
	c, err := s.quotaCase(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// transitionQuotaCase answers POST /api/v1/quota-cases/{id}/transition.
// The enterprise reports its plan and progress; regulators may also do so
// for it; a closure is checked against metered evidence whoever asks.
func (s *Server) transitionQuotaCase(w http.ResponseWriter, r *http.Request, p *Principal) {
	switch p.Role() {
	case store.RoleAdmin, store.RoleRegulator, store.RoleEnterprise:
	default:
		s.fail(w, r, errorf(http.StatusForbidden, "only admin, regulator and enterprise tokens move retrofit cases (仅限管理员、监管和企业令牌)"))
		return
	}
	var req struct {
		To   quotacase.State `json:"to"`
		Note string          `json:"note"`
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.quotaCase(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, err = s.quota.Transition(r.Context(), c.ID, req.To, p.Token.ID, req.Note)
	if err != nil {
		var ref *quotacase.Refusal
		if errors.As(err, &ref) {
			s.fail(w, r, errorf(http.StatusConflict, "不允许的状态变更 / transition refused: %s", ref.Msg))
			return
		}
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// quotaReview answers POST /api/v1/quota-review: the review the server runs
// daily (efficiency.Cases.Review), on demand for a period.
func (s *Server) quotaReview(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !p.SeesAll() || p.Role() == store.RoleAuditor {
		s.fail(w, r, errorf(http.StatusForbidden, "only admin and province-wide regulator tokens run the quota review (仅限管理员和省级监管令牌)"))
		return
	}
	from, to, err := s.period(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.quota.Review(r.Context(), from, to)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// decodeFrom reads a JSON value from body into v with decode's rules.
func decodeFrom(body io.Reader, v any) error {
	r := &http.Request{Body: io.NopCloser(body)}
	return decode(r, v)
}
