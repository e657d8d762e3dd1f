package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/api"
	"github.com/shuixiao/shuixiao/internal/netmon/netmontest"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/internal/throttle"
	tokensvc "github.com/shuixiao/shuixiao/internal/tokens"
	"github.com/shuixiao/shuixiao/meter"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// auditServer is an API over a fresh SQLite store with a park, an
// enterprise and tokens admin, auditor and ent.
func auditServer(t *testing.T) (*httptest.Server, *sqlite.Store, map[string]string, *testClock) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "store.db"), sqlite.Options{ManualCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	for _, err := range []error{
		st.CreateRegion(ctx, meter.Region{Code: "430300", Name: "湘潭市"}),
		st.CreatePark(ctx, meter.Park{ID: "PK", Name: "园区", Region: "430300"}),
		st.CreateEnterprise(ctx, meter.Enterprise{ID: "E", Name: "企业", Park: "PK", Region: "430300", Industry: "3120"}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	tok := map[string]string{}
	for _, tk := range []store.Token{{ID: "admin", Role: store.RoleAdmin}, {ID: "auditor", Role: store.RoleAuditor},
		{ID: "ent", Role: store.RoleEnterprise, Scope: "E"}} {
		tk.Created = time.Now()
		tok[tk.ID] = tokensvc.NewSecret()
		if err := st.CreateToken(ctx, tk, store.HashToken(tok[tk.ID])); err != nil {
			t.Fatal(err)
		}
	}
	clk := &testClock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	// The per-host throttle of failed authentications (TestFailedAuthThrottled)
	// is off here, so that the audit log's own bound is what is measured.
	srv := httptest.NewServer(api.New(api.Options{Store: st, Now: clk.Now, Logger: quiet, FailedAuth: throttle.Limit{Rate: -1}}))
	t.Cleanup(srv.Close)
	return srv, st, tok, clk
}

func auditRecords(t *testing.T, st store.Audit) []store.AuditRecord {
	t.Helper()
	recs, err := st.AuditLog(context.Background(), store.AuditQuery{Limit: store.MaxAuditPage})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestAuditWrites: each write through the API leaves one record with the
// caller, route, target and status, refused writes included; reads leave
// none; a token's secret never reaches the log.
func TestAuditWrites(t *testing.T) {
	srv, st, tok, _ := auditServer(t)
	as := func(who string) client { return client{t: t, base: srv.URL + "/api/v1", token: tok[who]} }
	as("admin").expect(http.StatusCreated, "POST", "/parks", meter.Park{ID: "PK2", Name: "二园", Region: "430300"}, nil)
	as("ent").expect(http.StatusForbidden, "POST", "/parks", meter.Park{ID: "PK3", Name: "三园", Region: "430300"}, nil)
	as("admin").expect(http.StatusOK, "GET", "/parks", nil, nil)
	var created struct {
		Secret string `json:"secret"`
	}
	as("admin").expect(http.StatusCreated, "POST", "/tokens", map[string]any{"id": "tok-new", "role": "auditor"}, &created)
	as("admin").expect(http.StatusOK, "POST", "/tokens/tok-new/revoke", nil, nil)
	as("admin").expect(http.StatusNotFound, "POST", "/tokens/tok-none/revoke", nil, nil)

	got := auditRecords(t, st)
	want := []string{
		"admin admin POST /api/v1/parks PK2 201",
		"ent enterprise POST /api/v1/parks  403",
		"admin admin POST /api/v1/tokens tok-new 201",
		"admin admin POST /api/v1/tokens/{id}/revoke tok-new 200",
		"admin admin POST /api/v1/tokens/{id}/revoke tok-none 404",
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d: %+v", len(got), len(want), got)
	}
	for i, r := range got {
		if s := fmt.Sprintf("%s %s %s %s %d", r.Actor, r.Role, r.Action, r.Target, r.Status); s != want[i] {
			t.Errorf("record %d: %q, want %q", i, s, want[i])
		}
		if !strings.HasPrefix(r.Remote, "127.0.0.1:") || r.Time.IsZero() {
			t.Errorf("record %d: remote %q time %v", i, r.Remote, r.Time)
		}
	}
	raw, _ := json.Marshal(got)
	if created.Secret == "" || strings.Contains(string(raw), created.Secret) {
		t.Errorf("the new token's secret %q is missing or in the audit log", created.Secret)
	}
}

// TestAuditEveryWriteRoute: every write operation the API documents is
// audited, whatever its handler answers, so a new handler cannot forget.
func TestAuditEveryWriteRoute(t *testing.T) {
	srv, st, tok, _ := auditServer(t)
	resp, err := http.Get(srv.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Security *[]any `json:"security"`
		} `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			m := strings.ToUpper(method)
			if m == "GET" || (op.Security != nil && len(*op.Security) == 0) {
				// Reads, and public writes that take no API token (a
				// device's push, authenticated by its own token, is data
				// like an MQTT publish: its failed authentications are
				// audited, TestGatewayEndToEnd in cmd/shuixiao).
				continue
			}
			pattern := m + " " + path
			want[pattern] = true
			url := srv.URL + strings.NewReplacer("{id}", "X1", "{name}", "pump").Replace(path)
			req, _ := http.NewRequest(m, url, strings.NewReader("not json"))
			req.Header.Set("Authorization", "Bearer "+tok["ent"])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	if len(want) < 10 {
		t.Fatalf("only %d write operations documented", len(want))
	}
	for _, r := range auditRecords(t, st) {
		if r.Actor == "ent" && want[r.Action] {
			delete(want, r.Action)
		}
	}
	if len(want) > 0 {
		t.Errorf("write routes without an audit record: %v", want)
	}
}

// TestFailedAuthThrottled: a host that keeps presenting unknown tokens is
// answered 429 with Retry-After once past its budget, before any look-up,
// also for a good token from the same host, until the budget refills.
func TestFailedAuthThrottled(t *testing.T) {
	p := netmontest.NewPark(t, t.TempDir(), 1, 1, false)
	clk := netmontest.NewFakeNow(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	srv := httptest.NewServer(api.New(api.Options{Store: p.Store, Now: clk.Now, Logger: quiet,
		FailedAuth: throttle.Limit{Rate: 0.5, Burst: 5}}))
	t.Cleanup(srv.Close)
	admin := client{t: t, base: srv.URL + "/api/v1", token: tokens(t, p.Store)["admin"]}
	stranger := client{t: t, base: srv.URL + "/api/v1", token: "sx_not-a-token"}
	for i := 0; i < 5; i++ {
		stranger.expect(http.StatusUnauthorized, "GET", "/parks", nil, nil)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/parks", nil)
	req.Header.Set("Authorization", "Bearer sx_not-a-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "3" {
		t.Errorf("past the budget: HTTP %d, Retry-After %q; want 429 and 3", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	admin.expect(http.StatusTooManyRequests, "GET", "/parks", nil, nil)
	clk.Set(clk.Now().Add(2 * time.Second)) // too early: Retry-After said 3 s, and the wait starts again
	admin.expect(http.StatusTooManyRequests, "GET", "/parks", nil, nil)
	clk.Set(clk.Now().Add(3 * time.Second))
	admin.expect(http.StatusOK, "GET", "/parks", nil, nil)
	stranger.expect(http.StatusUnauthorized, "GET", "/parks", nil, nil)
	stranger.expect(http.StatusTooManyRequests, "GET", "/parks", nil, nil)
}

// TestAuditFailedAuthBounded: failed authentications are recorded up to the
// burst, then one per interval, with the count of those left out.
func TestAuditFailedAuthBounded(t *testing.T) {
	srv, st, _, clk := auditServer(t)
	stranger := client{t: t, base: srv.URL + "/api/v1", token: "sx_not-a-token"}
	for i := 0; i < 50; i++ {
		stranger.expect(http.StatusUnauthorized, "GET", "/parks", nil, nil)
	}
	recs := auditRecords(t, st)
	if len(recs) != 20 {
		t.Fatalf("%d records after 50 failures at once, want the burst of 20", len(recs))
	}
	r := recs[0]
	if r.Actor != "" || r.Status != 401 || r.Action != "GET /api/v1/parks" || !strings.HasPrefix(r.Remote, "127.0.0.1:") {
		t.Errorf("failed authentication record %+v", r)
	}
	clk.Add(13 * time.Second) // two more allowed
	for i := 0; i < 5; i++ {
		stranger.expect(http.StatusUnauthorized, "GET", "/parks", nil, nil)
	}
	recs = auditRecords(t, st)
	if len(recs) != 22 || !strings.Contains(recs[20].Detail, "30 earlier failed authentications not recorded") {
		t.Fatalf("after the refill: %d records, detail %q", len(recs), recs[len(recs)-1].Detail)
	}
	// A write without any token is a failed authentication; a read is not.
	clk.Add(time.Minute)
	client{t: t, base: srv.URL + "/api/v1"}.expect(http.StatusUnauthorized, "GET", "/parks", nil, nil)
	client{t: t, base: srv.URL + "/api/v1"}.expect(http.StatusUnauthorized, "POST", "/parks", nil, nil)
	recs = auditRecords(t, st)
	if len(recs) != 23 || recs[22].Action != "POST /api/v1/parks" || recs[22].Detail != "no token; 3 earlier failed authentications not recorded (rate bound)" {
		t.Fatalf("token-less requests: %d records, last %+v", len(recs), recs[len(recs)-1])
	}
}

// TestAuditQuery: admins and auditors page through the log with filters and
// export it as CSV; other roles are refused.
func TestAuditQuery(t *testing.T) {
	srv, _, tok, clk := auditServer(t)
	admin := client{t: t, base: srv.URL + "/api/v1", token: tok["admin"]}
	for i := 0; i < 7; i++ {
		admin.expect(http.StatusCreated, "POST", "/parks", meter.Park{ID: fmt.Sprintf("P%d", i), Name: "园", Region: "430300"}, nil)
		clk.Add(time.Hour)
	}
	admin.expect(http.StatusNotFound, "POST", "/tokens/=evil/revoke", nil, nil)
	client{t: t, base: srv.URL + "/api/v1", token: tok["ent"]}.expect(http.StatusForbidden, "GET", "/audit", nil, nil)
	auditor := client{t: t, base: srv.URL + "/api/v1", token: tok["auditor"]}
	var targets []string
	cursor := ""
	for pages := 0; ; pages++ {
		var page struct {
			Records []store.AuditRecord `json:"records"`
			Next    string              `json:"next_cursor"`
		}
		auditor.expect(http.StatusOK, "GET", "/audit?limit=3&actor=admin"+cursor, nil, &page)
		for _, r := range page.Records {
			targets = append(targets, r.Target)
		}
		if page.Next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		cursor = "&cursor=" + page.Next
	}
	if fmt.Sprint(targets) != "[P0 P1 P2 P3 P4 P5 P6 =evil]" {
		t.Errorf("paged targets %v", targets)
	}
	var page struct {
		Records []store.AuditRecord `json:"records"`
	}
	auditor.expect(http.StatusOK, "GET", "/audit?from=2026-12-01T10:00:00Z&to=2026-12-01T12:00:00Z", nil, &page)
	if len(page.Records) != 2 || page.Records[0].Target != "P2" {
		t.Errorf("time range: %+v", page.Records)
	}
	auditor.expect(http.StatusBadRequest, "GET", "/audit?cursor=abc", nil, nil)
	auditor.expect(http.StatusBadRequest, "GET", "/audit?limit=100000", nil, nil)

	for _, path := range []string{"/audit.csv?actor=admin", "/audit?format=csv&actor=admin"} {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1"+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok["auditor"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(resp.Body).ReadAll()
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, err)
		}
		if len(rows) != 9 || strings.Join(rows[0], ",") != "id,time,actor,role,action,target,status,remote,detail" ||
			rows[1][2] != "admin" || rows[1][5] != "P0" || rows[1][6] != "201" || rows[8][5] != "'=evil" || rows[8][6] != "404" {
			t.Errorf("%s: %q", path, rows)
		}
	}
}
