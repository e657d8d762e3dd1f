package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/shuixiao/shuixiao/internal/efficiency"
	"github.com/shuixiao/shuixiao/report"
)

// Media types of the report downloads.
const (
	xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	pdfType  = "application/pdf"
)

// enterpriseReport serves the water-balance test report of an enterprise
// and period (package report) made from the same balance as
// GET /enterprises/{id}/balance, as XLSX or PDF.
func (s *Server) enterpriseReport(pdf bool) func(http.ResponseWriter, *http.Request, *Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *Principal) {
		ctx := r.Context()
		e, err := s.enterprise(ctx, p, r.PathValue("id"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		from, to, err := s.period(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		res, err := s.periodBalance(ctx, e, from, to)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		source := fmt.Sprintf("shuixiao %s, GET %s", s.opts.Version, r.URL.RequestURI())
		d, err := efficiency.ReportDoc(ctx, s.opts.Store, res, source, s.opts.Now().In(s.loc(r)))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		name := fmt.Sprintf("water-balance-%s-%s-%s", e.ID, from.In(s.loc(r)).Format("20060102"), to.Add(-time.Nanosecond).In(s.loc(r)).Format("20060102"))
		if pdf {
			s.download(w, r, name+".pdf", pdfType, func(out io.Writer) error { return report.BalancePDF(out, d, s.reportOptions()...) })
		} else {
			s.download(w, r, name+".xlsx", xlsxType, func(out io.Writer) error { return report.BalanceXLSX(out, d, s.reportOptions()...) })
		}
	}
}

// targetsReport serves GET /targets/report.xlsx: the progress a unit's
// caller may see (as GET /targets) as an XLSX workbook.
func (s *Server) targetsReport(w http.ResponseWriter, r *http.Request, p *Principal) {
	res, err := s.targetProgress(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := report.TargetsDoc{Progress: res.Report, Generated: s.opts.Now().In(s.loc(r)),
		Source: fmt.Sprintf("shuixiao %s, roll-up computed %s", s.opts.Version, res.ComputedAt.In(s.loc(r)).Format(time.RFC3339))}
	if c := s.checkpoint(r.Context()); c != nil {
		if cp, err := report.ParseCheckpoint([]byte(c.Text)); err == nil {
			d.Checkpoint = &cp
		}
	}
	code := res.Code
	if code == "" {
		code = string(res.Level)
	}
	name := "targets-" + string(res.Level) + "-" + code + "-" + strconv.Itoa(res.Year) + ".xlsx"
	s.download(w, r, name, xlsxType, func(out io.Writer) error { return report.TargetsXLSX(out, d) })
}

func (s *Server) reportOptions() []report.Option {
	if s.opts.ReportFont == "" {
		return nil
	}
	return []report.Option{report.WithFont(s.opts.ReportFont)}
}

// download renders a file in memory and sends it as an attachment named
// name; a rendering error is answered as an error, never as half a file.
// A server without a usable Chinese font answers 503 saying what is missing.
func (s *Server) download(w http.ResponseWriter, r *http.Request, name, ctype string, render func(io.Writer) error) {
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		var fe *report.FontError
		if errors.Is(err, report.ErrNoFont) || errors.As(err, &fe) {
			err = errorf(http.StatusServiceUnavailable, "%v (serve --report-font)", err)
		}
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
