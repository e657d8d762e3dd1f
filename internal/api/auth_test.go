package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/api"
	"github.com/shuixiao/shuixiao/internal/netmon/netmontest"
	"github.com/shuixiao/shuixiao/meter"
)

// TestTokenOnlyInHeader is part of finding 8 of issue 13: tokens were
// accepted in the query string (?access_token=), where they end up in
// logs, history and Referer headers. The live stream, which EventSource
// opens without headers, takes a one-use ticket instead.
func TestTokenOnlyInHeader(t *testing.T) {
	p := netmontest.NewPark(t, t.TempDir(), 1, 1, false)
	clk := netmontest.NewFakeNow(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	srv := httptest.NewServer(api.New(api.Options{Store: p.Store, Now: clk.Now, Logger: quiet}))
	defer srv.Close()
	tok := tokens(t, p.Store)
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		// A stream answers its header and then waits: read only the first line.
		line, _ := bufio.NewReader(resp.Body).ReadString('\n')
		return resp.StatusCode, resp.Header.Get("Content-Type") + " " + line
	}
	for _, path := range []string{"/api/v1/me?access_token=" + tok["admin"], "/api/v1/stream?access_token=" + tok["utility"], "/api/v1/stream?token=" + tok["utility"]} {
		if code, _ := get(path); code != http.StatusUnauthorized {
			t.Errorf("%s: HTTP %d, want 401", strings.Split(path, "=")[0], code)
		}
	}
	utility := client{t: t, base: srv.URL + "/api/v1", token: tok["utility"]}
	ticket := func() string {
		var tk struct{ Ticket string }
		utility.expect(http.StatusCreated, "POST", "/stream/ticket", nil, &tk)
		return tk.Ticket
	}
	tk := ticket()
	if code, ct := get("/api/v1/stream?enterprise=" + netmontest.UtilityID + "&ticket=" + tk); code != http.StatusOK || !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("stream with a ticket: HTTP %d %s", code, ct)
	}
	if code, _ := get("/api/v1/stream?ticket=" + tk); code != http.StatusUnauthorized {
		t.Errorf("a used ticket: HTTP %d", code)
	}
	// The ticket is the token's: it opens no other enterprise's stream.
	if code, _ := get("/api/v1/stream?enterprise=" + netmontest.OtherEntID + "&ticket=" + ticket()); code != http.StatusForbidden {
		t.Errorf("another enterprise's stream: HTTP %d", code)
	}
	tk = ticket()
	clk.Set(clk.Now().Add(61 * time.Second))
	if code, _ := get("/api/v1/stream?ticket=" + tk); code != http.StatusUnauthorized {
		t.Errorf("an expired ticket: HTTP %d", code)
	}
	// A revoked token's ticket opens nothing (once the token cache expires).
	tk = ticket()
	if err := p.Store.RevokeToken(context.Background(), "utility", clk.Now()); err != nil {
		t.Fatal(err)
	}
	clk.Set(clk.Now().Add(11 * time.Second))
	if code, _ := get("/api/v1/stream?ticket=" + tk); code != http.StatusUnauthorized {
		t.Errorf("a revoked token's ticket: HTTP %d", code)
	}
	// The header still works everywhere, the stream included.
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/stream", nil)
	req.Header.Set("Authorization", "Bearer "+tok["admin"])
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("stream with the header: %v %v", err, resp)
	}
	resp.Body.Close()
}

// TestTokenIDAndNameCharset: token IDs and names are limited to a safe
// charset and length where tokens are made.
func TestTokenIDAndNameCharset(t *testing.T) {
	p := netmontest.NewPark(t, t.TempDir(), 1, 1, false)
	srv := httptest.NewServer(api.New(api.Options{Store: p.Store, Logger: quiet}))
	defer srv.Close()
	admin := client{t: t, base: srv.URL + "/api/v1", token: tokens(t, p.Store)["admin"]}
	for _, body := range []map[string]string{
		{"id": "../admin", "role": "auditor"},
		{"id": "a b", "role": "auditor"},
		{"id": strings.Repeat("x", 65), "role": "auditor"},
		{"id": "ok-1", "name": "<img src=x onerror=alert(1)>", "role": "auditor"},
		{"id": "ok-1", "name": "line\nbreak", "role": "auditor"},
		{"id": "ok-1", "name": "\u202eevil", "role": "auditor"},
	} {
		if code, raw := admin.raw("POST", "/tokens", body); code != http.StatusBadRequest {
			t.Errorf("%q: HTTP %d %s", body, code, raw)
		}
	}
	var out struct{ Secret string }
	admin.expect(http.StatusCreated, "POST", "/tokens", map[string]string{"id": "audit-2026.q4_1", "name": "审计 Audit (Q4)", "role": "auditor"}, &out)
	admin.expect(http.StatusCreated, "POST", "/tokens", map[string]string{"role": "auditor"}, &out) // a generated ID
}

// TestOverviewParkScope is part of finding 8 of issue 13: an enterprise
// token could read any park's overview header (name, and that it exists).
// It may read its own park's, narrowed to itself, and no other.
func TestOverviewParkScope(t *testing.T) {
	p := netmontest.NewPark(t, t.TempDir(), 1, 1, false)
	ctx := context.Background()
	if err := p.Store.CreatePark(ctx, meter.Park{ID: "PK-ELSEWHERE", Name: "别的园区", Region: "430300"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Options{Store: p.Store, Logger: quiet}))
	defer srv.Close()
	tok := tokens(t, p.Store)
	as := func(who string) client { return client{t: t, base: srv.URL + "/api/v1", token: tok[who]} }
	as("utility").expect(http.StatusForbidden, "GET", "/overview?level=park&code=PK-ELSEWHERE", nil, nil)
	as("park").expect(http.StatusForbidden, "GET", "/overview?level=park&code=PK-ELSEWHERE", nil, nil)
	var ov struct {
		Name     string
		Children []struct{ ID string }
	}
	as("utility").expect(http.StatusOK, "GET", "/overview?level=park&code="+netmontest.ParkID, nil, &ov)
	if len(ov.Children) != 1 || ov.Children[0].ID != netmontest.UtilityID {
		raw, _ := json.Marshal(ov)
		t.Errorf("utility's own park: %s", raw)
	}
	as("admin").expect(http.StatusOK, "GET", "/overview?level=park&code=PK-ELSEWHERE", nil, nil)
}
