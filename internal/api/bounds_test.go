package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/api"
	"github.com/shuixiao/shuixiao/internal/netmon/netmontest"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/rejection"
	"github.com/shuixiao/shuixiao/workorder"
)

// TestWorkOrderBounds is finding 2 of issue 13: a work order with a leak
// flow of 1e308 m³/h since year 1 was stored (201 with an empty body), and
// from then on every list of work orders answered 200 with 0 bytes, and the
// order could not be closed. Such input is now a 400 naming the field; a
// record already stored (a data directory from before) is listed with its
// water lost null and the reason, and can be closed.
func TestWorkOrderBounds(t *testing.T) {
	p := netmontest.NewPark(t, t.TempDir(), 1, 1, true)
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(api.New(api.Options{Store: p.Store, Now: func() time.Time { return now }, Logger: quiet}))
	defer srv.Close()
	tok := tokens(t, p.Store)
	admin := client{t: t, base: srv.URL + "/api/v1", token: tok["admin"]}

	order := func(start string, flow any) map[string]any {
		return map[string]any{"network": netmontest.NetworkID, "title": "leak", "leak_start": start, "leak_flow_m3h": flow}
	}
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{order("2026-12-06T08:00:00Z", 1e308), "leak_flow_m3h"},
		{order("2026-12-06T08:00:00Z", -1), "leak_flow_m3h"},
		{order("0001-01-02T00:00:00Z", 10), "leak_start"},
		{order("9999-12-31T23:59:59Z", 10), "leak_start"},
		{order("1969-12-31T23:59:59Z", 10), "leak_start"},
		{order("0001-01-01T00:00:00Z", 1e308), "leak_flow_m3h"},
	} {
		code, raw := admin.raw("POST", "/workorders", c.body)
		if code != http.StatusBadRequest || !strings.Contains(raw, c.field) {
			t.Errorf("%v: HTTP %d %s, want 400 naming %s", c.body, code, raw, c.field)
		}
	}
	var good map[string]any
	admin.expect(http.StatusCreated, "POST", "/workorders", order("2026-12-06T08:00:00Z", 10), &good)
	if good["water_lost_m3"] != 40.0 {
		t.Fatalf("water lost of 10 m³/h over 4 h: %v", good["water_lost_m3"])
	}

	// A record stored before the bounds were checked.
	bad, err := p.Store.CreateWorkOrder(context.Background(), workorder.Order{Network: netmontest.NetworkID, Park: netmontest.ParkID,
		Enterprise: netmontest.UtilityID, Title: "stored earlier", Created: now, LeakStart: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), LeakFlowM3H: 1e308})
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"admin", "park", "utility", "auditor"} {
		var list []map[string]any
		client{t: t, base: srv.URL + "/api/v1", token: tok[who]}.expect(http.StatusOK, "GET", "/workorders", nil, &list)
		if len(list) != 2 {
			t.Fatalf("%s lists %d work orders, want 2", who, len(list))
		}
		for _, wo := range list {
			isBad := wo["id"] == float64(bad.ID)
			if isBad != (wo["water_lost_m3"] == nil) || isBad != (wo["invalid"] != nil) {
				t.Errorf("%s: %v", who, wo)
			}
		}
	}
	var one map[string]any
	admin.expect(http.StatusOK, "GET", fmt.Sprintf("/workorders/%d", bad.ID), nil, &one)
	var closed map[string]any
	admin.expect(http.StatusOK, "POST", fmt.Sprintf("/workorders/%d/close", bad.ID), map[string]any{"note": "done"}, &closed)
	if closed["state"] != "closed" || !strings.Contains(closed["note"].(string), "water lost not computed") || closed["water_lost_m3"] != nil {
		t.Fatalf("closed: %v", closed)
	}
}

// TestQueryTimeBounds: a time parameter outside 1970–2099 is a 400 naming it;
// the epoch, which clients send for "from the beginning", is accepted.
func TestQueryTimeBounds(t *testing.T) {
	p := netmontest.NewPark(t, t.TempDir(), 1, 1, false)
	srv := httptest.NewServer(api.New(api.Options{Store: p.Store, Logger: quiet}))
	defer srv.Close()
	admin := client{t: t, base: srv.URL + "/api/v1", token: tokens(t, p.Store)["admin"]}
	for _, q := range []string{"from=0001-01-01", "to=9999-12-31T00:00:00Z"} {
		code, raw := admin.raw("GET", "/readings?meter=M-PT-A13&"+q, nil)
		name, _, _ := strings.Cut(q, "=")
		if code != http.StatusBadRequest || !strings.Contains(raw, "parameter "+name) {
			t.Errorf("%s: HTTP %d %s", q, code, raw)
		}
	}
	admin.expect(http.StatusOK, "GET", "/readings?meter=M-PT-A13&from=1970-01-01T00:00:00.000Z&to=2099-12-31T00:00:00Z", nil, nil)
}

// FuzzWorkOrderDecode posts work orders with random leak flows and starts
// to the real handler over a real store. Whatever the numbers, an answer is
// never a half-written 2xx, and the list of work orders stays servable.
func FuzzWorkOrderDecode(f *testing.F) {
	f.Add(1e308, int64(-62135596800), "")
	f.Add(10.0, int64(1780000000), "t")
	f.Add(-1.0, int64(253402300799), "x")
	f.Add(math.SmallestNonzeroFloat64, int64(946684800), "")
	f.Add(100000.0, int64(4102444799), "")
	p := netmontest.NewPark(f, f.TempDir(), 1, 1, true)
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	h := api.New(api.Options{Store: p.Store, Now: func() time.Time { return now }, Logger: quiet})
	tok := tokens(f, p.Store)["admin"]
	call := func(method, path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	f.Fuzz(func(t *testing.T, flow float64, startUnix int64, numText string) {
		start := time.Unix(startUnix%(1<<40), 0).UTC().Format(time.RFC3339Nano)
		num := strconv.FormatFloat(flow, 'g', -1, 64)
		if numText != "" && len(numText) < 40 {
			num = numText // any text in the number's place: the decoder must refuse what is not a number
		}
		body := `{"network":"` + netmontest.NetworkID + `","title":"f","leak_start":"` + start + `","leak_flow_m3h":` + num + `}`
		rec := call("POST", "/api/v1/workorders", body)
		if rec.Code < 300 && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s: HTTP %d with body %q", body, rec.Code, rec.Body.String())
		}
		if rec.Code >= 500 {
			t.Fatalf("%s: HTTP %d %s", body, rec.Code, rec.Body.String())
		}
		if rec.Code == http.StatusCreated {
			list := call("GET", "/api/v1/workorders?state=open", "")
			if list.Code != http.StatusOK || !json.Valid(list.Body.Bytes()) {
				t.Fatalf("after %s the list answers HTTP %d %q", body, list.Code, list.Body.String())
			}
		}
	})
}

// TestRejectionsPaged is the API side of finding 3 of issue 13: GET
// /rejections answered every counter by (reason, meter) at once, one per
// meter ID a client made up (20 MB). The counters now come in pages.
func TestRejectionsPaged(t *testing.T) {
	p := netmontest.NewPark(t, t.TempDir(), 1, 1, false)
	srv := httptest.NewServer(api.New(api.Options{Store: p.Store, Logger: quiet}))
	defer srv.Close()
	tok := tokens(t, p.Store)
	const made = 2500
	var rejs []rejection.Rejection
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	for i := range made {
		rejs = append(rejs, rejection.Rejection{Time: t0, Meter: fmt.Sprintf("FAKE-%05d", i), Reason: "unknown-meter", Detail: strings.Repeat("x", 400)})
	}
	rejs = append(rejs, rejection.Rejection{Time: t0, Meter: "M-PT-A13", Reason: "bad-signature"})
	if err := p.Store.Commit(context.Background(), &store.Batch{Rejections: rejs}); err != nil {
		t.Fatal(err)
	}
	type page struct {
		Total  uint64
		Counts []rejection.Count
		Recent []rejection.Rejection
		Next   string
	}
	// all follows the pages as a client would, checking each is bounded.
	all := func(c client) (uint64, map[string]bool) {
		seen := map[string]bool{}
		var total uint64
		after := ""
		for pages := 0; ; pages++ {
			code, raw := c.raw("GET", "/rejections?limit=1000&after="+after, nil)
			var pg page
			if code != http.StatusOK || json.Unmarshal([]byte(raw), &pg) != nil {
				t.Fatalf("HTTP %d %.200s", code, raw)
			}
			if len(raw) > 1<<20 || len(pg.Counts) > 1000 || len(pg.Recent) > 1000 || pages > 0 && pg.Total != total {
				t.Fatalf("page %d: %d bytes, %d counts, %d recent, total %d", pages, len(raw), len(pg.Counts), len(pg.Recent), pg.Total)
			}
			total = pg.Total
			for _, c := range pg.Counts {
				if seen[c.Reason+" "+c.Meter] {
					t.Fatalf("counter %s %s twice", c.Reason, c.Meter)
				}
				seen[c.Reason+" "+c.Meter] = true
			}
			if pg.Next == "" {
				return total, seen
			}
			after = pg.Next
		}
	}
	admin := client{t: t, base: srv.URL + "/api/v1", token: tok["admin"]}
	if total, seen := all(admin); total != made+1 || len(seen) != made+1 {
		t.Errorf("admin: total %d, %d counters, want %d", total, len(seen), made+1)
	}
	if code, raw := admin.raw("GET", "/rejections?after=bm90IGEgY3Vyc29y", nil); code != http.StatusBadRequest || !strings.Contains(raw, "after") {
		t.Errorf("a made-up cursor: HTTP %d %s", code, raw)
	}
	// A tenant sees only its own meters' counters, and their totals.
	if total, seen := all(client{t: t, base: srv.URL + "/api/v1", token: tok["utility"]}); total != 1 || len(seen) != 1 || !seen["bad-signature M-PT-A13"] {
		t.Errorf("utility: total %d, counters %v", total, seen)
	}
}

// failingScan is a store whose reading export fails after a number of rows.
type failingScan struct {
	*sqlite.Store
	rows int
}

func (f failingScan) ScanReadings(ctx context.Context, q store.ReadingQuery, fn func(*store.Reading) error) error {
	for i := range f.rows {
		if err := fn(&store.Reading{Meter: q.Meter, Seq: uint64(i + 1), Time: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC)}); err != nil {
			return err
		}
	}
	return errors.New("disk on fire")
}

// TestCSVExportFailure: a CSV export that fails before anything was sent
// is a 500 with a message; one that fails midway breaks the connection, so
// that the client sees an incomplete download, not a file that looks whole.
func TestCSVExportFailure(t *testing.T) {
	p := netmontest.NewPark(t, t.TempDir(), 1, 1, false)
	tok := tokens(t, p.Store)
	for _, c := range []struct {
		rows      int
		wantCode  int
		wantError bool
	}{{0, http.StatusInternalServerError, false}, {10000, http.StatusOK, true}} {
		srv := httptest.NewServer(api.New(api.Options{Store: failingScan{p.Store, c.rows}, Logger: quiet}))
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/readings?meter=M-PT-A13&format=csv", nil)
		req.Header.Set("Authorization", "Bearer "+tok["admin"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.wantCode || (err != nil) != c.wantError {
			t.Errorf("%d rows then a failure: HTTP %d, read error %v, %d bytes", c.rows, resp.StatusCode, err, len(body))
		}
		if c.rows == 0 && !strings.Contains(string(body), "internal error") {
			t.Errorf("body %q", body)
		}
		srv.Close()
	}
}
