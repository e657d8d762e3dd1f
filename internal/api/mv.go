package api

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/shuixiao/shuixiao/contract"
	"github.com/shuixiao/shuixiao/internal/mv"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/watercarbon"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/report"
)

// newMV returns the M&V use cases over the server's store, nil when the
// store does not keep contracts.
func (s *Server) newMV() *mv.Service {
	ms, ok := s.opts.Store.(mv.Store)
	if !ok {
		return nil
	}
	svc := &mv.Service{Store: ms, Now: s.opts.Now}
	if s.opts.Ledger != nil {
		svc.Checkpoint = s.mvCheckpoint
	}
	return svc
}

// mvCheckpoint is the latest signed checkpoint with its root in hex.
func (s *Server) mvCheckpoint(ctx context.Context) (contract.Checkpoint, error) {
	cp := s.checkpoint(ctx)
	if cp == nil {
		return contract.Checkpoint{}, errors.New("no signed checkpoint yet")
	}
	root, err := base64.StdEncoding.DecodeString(cp.RootHash)
	if err != nil {
		return contract.Checkpoint{}, fmt.Errorf("checkpoint root: %w", err)
	}
	return contract.Checkpoint{Size: cp.Size, Root: hex.EncodeToString(root)}, nil
}

func (s *Server) mvService() (*mv.Service, error) {
	if s.mv == nil {
		return nil, errorf(http.StatusNotImplemented, "this store keeps no contracts")
	}
	return s.mv, nil
}

// mvWriter allows the writes of contract water saving: admin, regulator,
// and the enterprise for itself (scope checked by s.enterprise).
func mvWriter(p *Principal) error {
	switch p.Role() {
	case store.RoleAdmin, store.RoleRegulator, store.RoleEnterprise:
		return nil
	}
	return errorf(http.StatusForbidden, "only admin, regulator and enterprise tokens write contracts and statements (仅限管理员、监管和企业令牌)")
}

// visibleContract returns a contract whose enterprise the caller may see.
func (s *Server) visibleContract(ctx context.Context, p *Principal, id string) (contract.Contract, error) {
	svc, err := s.mvService()
	if err != nil {
		return contract.Contract{}, err
	}
	c, err := svc.Contract(ctx, id)
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

// listContracts answers GET /api/v1/contracts: the contracts of the
// enterprises in the caller's scope (or of ?enterprise).
func (s *Server) listContracts(w http.ResponseWriter, r *http.Request, p *Principal) {
	svc, err := s.mvService()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ents, err := s.enterprisesParam(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []contract.Contract{}
	if len(ents) > 0 {
		var f []string
		if !p.SeesAll() || r.URL.Query().Get("enterprise") != "" {
			f = ids(ents)
		}
		cs, err := svc.Contracts(r.Context(), f)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out = append(out, cs...)
	}
	writeJSON(w, http.StatusOK, out)
}

// createContract answers POST /api/v1/contracts.
func (s *Server) createContract(w http.ResponseWriter, r *http.Request, p *Principal) {
	svc, err := s.mvService()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := mvWriter(p); err != nil {
		s.fail(w, r, err)
		return
	}
	var c contract.Contract
	if err := decode(r, &c); err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.enterprise(r.Context(), p, c.Enterprise); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err = svc.CreateContract(r.Context(), c, p.Token.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

// contractView is a contract with its statements.
type contractView struct {
	Contract   contract.Contract    `json:"contract"`
	Statements []contract.Statement `json:"statements"`
}

// getContract answers GET /api/v1/contracts/{id}.
func (s *Server) getContract(w http.ResponseWriter, r *http.Request, p *Principal) {
	c, err := s.visibleContract(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sts, err := s.mv.Statements(r.Context(), c.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, contractView{Contract: c, Statements: sts})
}

// addDeclared answers POST /api/v1/contracts/{id}/declared: declared
// driver values (e.g. cooling degree days), all or nothing.
func (s *Server) addDeclared(w http.ResponseWriter, r *http.Request, p *Principal) {
	if err := mvWriter(p); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.visibleContract(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var vals []contract.DeclaredValue
	if err := decode(r, &vals); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err = s.mv.AddDeclared(r.Context(), c.ID, vals, p.Token.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// reportingParam reads ?period (1-based) or the body's period.
func reportingParam(text string, c contract.Contract) (int, error) {
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 || n > len(c.Reporting) {
		return 0, errorf(http.StatusBadRequest, "parameter period: %q, a reporting period from 1 to %d", text, len(c.Reporting))
	}
	return n - 1, nil
}

// previewStatement answers GET /api/v1/contracts/{id}/preview?period=N:
// the M&V of a reporting period computed now and not stored (no
// checkpoint): the baseline fit the console charts before a statement is
// issued.
func (s *Server) previewStatement(w http.ResponseWriter, r *http.Request, p *Principal) {
	c, err := s.visibleContract(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	k, err := reportingParam(r.URL.Query().Get("period"), c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rec, err := s.mv.Compute(r.Context(), c, k, nil, contract.Checkpoint{})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

// issueStatement answers POST /api/v1/contracts/{id}/statements: the
// statement of a reporting period that is over, with its non-routine
// adjustments, computed, sealed and stored.
func (s *Server) issueStatement(w http.ResponseWriter, r *http.Request, p *Principal) {
	if err := mvWriter(p); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.visibleContract(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req struct {
		Period      int                   `json:"period"`
		Adjustments []contract.Adjustment `json:"adjustments"`
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	k, err := reportingParam(strconv.Itoa(req.Period), c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rec, err := s.mv.Issue(r.Context(), c.ID, k, req.Adjustments, p.Token.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, rec)
}

// visibleStatement returns a statement record the caller may see.
func (s *Server) visibleStatement(ctx context.Context, p *Principal, id string) (contract.Record, error) {
	svc, err := s.mvService()
	if err != nil {
		return contract.Record{}, err
	}
	rec, err := svc.Record(ctx, id)
	if err != nil {
		return rec, err
	}
	if _, err := s.enterprise(ctx, p, rec.Statement.Enterprise); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return rec, forbidden()
		}
		return rec, err
	}
	return rec, nil
}

// getStatement answers GET /api/v1/mv/statements/{id}: the statement
// record `shuixiao verify savings` recomputes.
func (s *Server) getStatement(w http.ResponseWriter, r *http.Request, p *Principal) {
	rec, err := s.visibleStatement(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

// statementCarbon answers the carbon avoided by a statement's proven
// saving (its issuable part) in the year its reporting period ends.
func (s *Server) statementCarbon(w http.ResponseWriter, r *http.Request, p *Principal) {
	rec, err := s.visibleStatement(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st := rec.Statement
	year := st.To.Add(-time.Nanosecond).In(production.Zone).Year()
	a, err := s.carbon.Avoided(r.Context(), st.Enterprise, st.Issuable(), year)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Statement string `json:"statement"`
		watercarbon.Avoidance
	}{st.ID, a})
}

// statementReport serves a statement as XLSX or PDF (package report).
func (s *Server) statementReport(pdf bool) func(http.ResponseWriter, *http.Request, *Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *Principal) {
		rec, err := s.visibleStatement(r.Context(), p, r.PathValue("id"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		c, err := s.mv.Contract(r.Context(), rec.Statement.Contract)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d := report.StatementDoc{Contract: c, Record: rec, Source: fmt.Sprintf("shuixiao %s, GET %s", s.opts.Version, r.URL.RequestURI()),
			Generated: s.opts.Now().In(s.loc(r))}
		name := "mv-statement-" + rec.Statement.ID
		if pdf {
			s.download(w, r, name+".pdf", pdfType, func(out io.Writer) error { return report.StatementPDF(out, d, s.reportOptions()...) })
		} else {
			s.download(w, r, name+".xlsx", xlsxType, func(out io.Writer) error { return report.StatementXLSX(out, d, s.reportOptions()...) })
		}
	}
}
