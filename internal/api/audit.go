package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
)

// The audit log records every write through the API and every failed
// authentication (docs/api.md, "Audit log"). Writes are recorded by one
// wrapper that routes() puts around every route whose method changes
// something, so no handler can forget; failed authentications are recorded
// by authenticated, at most failedAuthBurst at once and one per
// failedAuthEvery after that, so that a stranger cannot grow the log faster.
const (
	failedAuthBurst = 20
	failedAuthEvery = 6 * time.Second
	// targetPeek is how much of a create's answer is kept to find the ID
	// of the record it made.
	targetPeek = 8 << 10
)

// writeMethod reports whether a route pattern's method changes state.
func writeMethod(pattern string) bool {
	method, _, _ := strings.Cut(pattern, " ")
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// audited records the outcome of h for a write route: the caller, the route
// pattern, the target ID and the status answered.
func (s *Server) audited(pattern string, h func(http.ResponseWriter, *http.Request, *Principal)) func(http.ResponseWriter, *http.Request, *Principal) {
	if !writeMethod(pattern) {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request, p *Principal) {
		target := pathTarget(r)
		rec := &statusRecorder{ResponseWriter: w, peek: target == ""}
		h(rec, r, p)
		if target == "" && rec.status < 300 {
			target = bodyTarget(rec.body.Bytes())
		}
		s.audit(r.Context(), store.AuditRecord{Time: s.opts.Now(), Actor: p.Token.ID, Role: p.Token.Role,
			Action: pattern, Target: target, Status: rec.code(), Remote: r.RemoteAddr})
	}
}

// audit appends a record, shortening over-long fields rather than losing it.
// A record that cannot be stored is logged: the write it describes is done.
func (s *Server) audit(ctx context.Context, rec store.AuditRecord) {
	rec.Target, rec.Remote, rec.Detail = clip(rec.Target, 256), clip(rec.Remote, 256), clip(rec.Detail, 1024)
	// The caller's context may be cancelled as soon as the answer is sent.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := s.opts.Store.AppendAudit(ctx, rec); err != nil {
		s.opts.Logger.Error("audit record not stored", "action", rec.Action, "actor", rec.Actor, "status", rec.Status, "error", err)
	}
}

// failedAuth records a failed authentication within the rate bound.
func (s *Server) failedAuth(r *http.Request, why string) {
	now := s.opts.Now()
	suppressed, ok := s.authFailures.take(now)
	if !ok {
		return
	}
	if suppressed > 0 {
		why += fmt.Sprintf("; %d earlier failed authentications not recorded (rate bound)", suppressed)
	}
	action := r.Pattern
	if action == "" {
		action = r.Method + " " + r.URL.Path
	}
	s.audit(r.Context(), store.AuditRecord{Time: now, Action: clip(action, 256), Status: http.StatusUnauthorized,
		Remote: r.RemoteAddr, Detail: why})
}

// authFailureBucket is a token bucket over failed-authentication records
// that counts what it turned away.
type authFailureBucket struct {
	mu         sync.Mutex
	tokens     float64
	last       time.Time
	suppressed int
}

// take reports whether a record may be written now and how many were
// refused since the last one that was.
func (b *authFailureBucket) take(now time.Time) (suppressed int, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last.IsZero() {
		b.tokens = failedAuthBurst
	} else if d := now.Sub(b.last); d > 0 {
		b.tokens = min(failedAuthBurst, b.tokens+float64(d)/float64(failedAuthEvery))
	}
	b.last = now
	if b.tokens < 1 {
		b.suppressed++
		return 0, false
	}
	b.tokens--
	suppressed, b.suppressed = b.suppressed, 0
	return suppressed, true
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// pathTarget is the record a route's path names: {id}, or {id}/{name}.
func pathTarget(r *http.Request) string {
	id := r.PathValue("id")
	if name := r.PathValue("name"); name != "" {
		return id + "/" + name
	}
	return id
}

// bodyTarget finds the ID of what a create made in its JSON answer: a
// top-level "id", or the "id" of a "token" (never any other field, so a
// token's secret is never read into the log).
func bodyTarget(body []byte) string {
	var v struct {
		ID    json.RawMessage `json:"id"`
		Token struct {
			ID string `json:"id"`
		} `json:"token"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	if len(v.ID) > 0 {
		var s string
		if json.Unmarshal(v.ID, &s) == nil {
			return s
		}
		return string(bytes.TrimSpace(v.ID)) // a number
	}
	return v.Token.ID
}

// statusRecorder remembers the status written and, when asked, the first
// bytes of the body.
type statusRecorder struct {
	http.ResponseWriter
	status int
	peek   bool
	body   bytes.Buffer
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.peek && w.body.Len() < targetPeek {
		w.body.Write(b[:min(len(b), targetPeek-w.body.Len())])
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// code is the status the client got (200 if the handler wrote nothing).
func (w *statusRecorder) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// auditLog answers GET /api/v1/audit (JSON pages) and GET /api/v1/audit.csv
// (or ?format=csv: every record selected, as CSV) to admins and auditors.
func (s *Server) auditLog(w http.ResponseWriter, r *http.Request, p *Principal) {
	if p.Role() != store.RoleAdmin && p.Role() != store.RoleAuditor {
		s.fail(w, r, forbidden())
		return
	}
	q, err := s.auditQuery(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if strings.HasSuffix(r.URL.Path, ".csv") || r.URL.Query().Get("format") == "csv" {
		s.auditCSV(w, r, q)
		return
	}
	recs, err := s.opts.Store.AuditLog(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page := map[string]any{"records": recs}
	if len(recs) == q.Limit {
		page["next_cursor"] = strconv.FormatInt(recs[len(recs)-1].ID, 10)
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) auditQuery(r *http.Request) (store.AuditQuery, error) {
	var q store.AuditQuery
	var err error
	if q.From, err = s.timeParam(r, "from", time.Time{}); err != nil {
		return q, err
	}
	if q.To, err = s.timeParam(r, "to", time.Time{}); err != nil {
		return q, err
	}
	if q.Limit, err = intParam(r, "limit", 100, 1, store.MaxAuditPage); err != nil {
		return q, err
	}
	q.Actor = r.URL.Query().Get("actor")
	if c := r.URL.Query().Get("cursor"); c != "" {
		if q.After, err = strconv.ParseInt(c, 10, 64); err != nil || q.After < 0 {
			return q, errorf(http.StatusBadRequest, "parameter cursor: %q is not a cursor from a previous page", c)
		}
	}
	return q, nil
}

// auditCSV writes every record q selects from its cursor on, paging
// through the store so memory stays bounded; limit does not apply.
func (s *Server) auditCSV(w http.ResponseWriter, r *http.Request, q store.AuditQuery) {
	q.Limit = store.MaxAuditPage
	recs, err := s.opts.Store.AuditLog(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="audit.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "time", "actor", "role", "action", "target", "status", "remote", "detail"})
	for len(recs) > 0 {
		for _, a := range recs {
			_ = cw.Write([]string{strconv.FormatInt(a.ID, 10), a.Time.UTC().Format(time.RFC3339Nano), csvSafe(a.Actor), string(a.Role),
				csvSafe(a.Action), csvSafe(a.Target), strconv.Itoa(a.Status), csvSafe(a.Remote), csvSafe(a.Detail)})
		}
		if len(recs) < q.Limit {
			break
		}
		q.After = recs[len(recs)-1].ID
		if recs, err = s.opts.Store.AuditLog(r.Context(), q); err != nil {
			// The header is sent; a truncated file is all that can be said.
			s.opts.Logger.Error("audit CSV export", "error", err)
			break
		}
	}
	cw.Flush()
}

// csvSafe keeps a spreadsheet from reading a field as a formula (the
// fields come from callers: paths, remote addresses).
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
