package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/api"
	"github.com/shuixiao/shuixiao/internal/netmon"
	"github.com/shuixiao/shuixiao/internal/netmon/netmontest"
	"github.com/shuixiao/shuixiao/internal/sim/parknet"
	"github.com/shuixiao/shuixiao/internal/store"
	tokensvc "github.com/shuixiao/shuixiao/internal/tokens"
	"github.com/shuixiao/shuixiao/workorder"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// client calls the API with one token.
type client struct {
	t     *testing.T
	base  string
	token string
}

func (c client) do(method, path string, body, out any) int {
	c.t.Helper()
	code, raw := c.raw(method, path, body)
	if out != nil && code < 300 {
		if err := json.Unmarshal([]byte(raw), out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	if code >= 300 && out != nil {
		c.t.Logf("%s %s: %d %s", method, path, code, raw)
	}
	return code
}

// expect checks the status of a call.
func (c client) expect(want int, method, path string, body, out any) {
	c.t.Helper()
	if got := c.do(method, path, body, out); got != want {
		c.t.Fatalf("%s %s: HTTP %d, want %d", method, path, got, want)
	}
}

// tokens makes a token of each role for the test park.
func tokens(t testing.TB, st store.Tokens) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tk := range []store.Token{
		{ID: "admin", Role: store.RoleAdmin},
		{ID: "park", Role: store.RolePark, Scope: netmontest.ParkID},
		{ID: "utility", Role: store.RoleEnterprise, Scope: netmontest.UtilityID},
		{ID: "other", Role: store.RoleEnterprise, Scope: netmontest.OtherEntID},
		{ID: "auditor", Role: store.RoleAuditor},
	} {
		tk.Created = time.Now()
		secret := tokensvc.NewSecret()
		if err := st.CreateToken(context.Background(), tk, store.HashToken(secret)); err != nil {
			t.Fatal(err)
		}
		out[tk.ID] = secret
	}
	return out
}

// TestNetworkLeakToWorkOrder is the platform's leak path end to end: an
// admin registers the demo park network; the monitor runs on the committed
// readings of the simulated network; a leak is alarmed with ranked
// candidate pipes; a work order is made from the alarm, assigned and
// closed with the repaired pipe; the water lost is computed and the
// detector re-arms. Tenant scope is checked on the way.
func TestNetworkLeakToWorkOrder(t *testing.T) {
	p := netmontest.NewPark(t, t.TempDir(), 1, 12, false)
	clk := netmontest.NewFakeNow(p.Origin.Add(-time.Minute))
	mon := netmon.New(netmon.Options{Store: p.Store, Now: clk.Now, Tick: time.Millisecond, Logger: quiet})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go mon.Run(ctx)
	srv := httptest.NewServer(api.New(api.Options{Store: p.Store, Networks: mon, Now: clk.Now, Logger: quiet}))
	defer srv.Close()
	tok := tokens(t, p.Store)
	as := func(who string) client { return client{t: t, base: srv.URL + "/api/v1", token: tok[who]} }
	admin := as("admin")

	// Registration: admin only, validated against the model and registry.
	reg := map[string]any{"id": netmontest.NetworkID, "name": "园区管网", "name_en": "Park network", "enterprise": netmontest.UtilityID,
		"inp": string(parknet.INP()), "config": p.ConfigJSON(t)}
	as("park").expect(http.StatusForbidden, "POST", "/networks", reg, nil)
	for name, edit := range map[string]func(m map[string]any){
		"broken .inp": func(m map[string]any) { m["inp"] = "[PIPES]\n P1 X Y 10 100 100\n" },
		"unknown point": func(m map[string]any) {
			m["config"] = json.RawMessage(strings.Replace(string(p.ConfigJSON(t)), "PT-A13", "PT-NOPE", 1))
		},
		"unknown node": func(m map[string]any) {
			m["config"] = json.RawMessage(strings.Replace(string(p.ConfigJSON(t)), `"A13"`, `"Z99"`, 1))
		},
		"operator not in park": func(m map[string]any) { m["park"] = "PK-ELSEWHERE" },
		"no operator":          func(m map[string]any) { delete(m, "enterprise") },
	} {
		bad := map[string]any{}
		for k, v := range reg {
			bad[k] = v
		}
		edit(bad)
		if code := admin.do("POST", "/networks", bad, nil); code != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d, want 400", name, code)
		}
	}
	var summary map[string]any
	admin.expect(http.StatusCreated, "POST", "/networks", reg, &summary)
	if summary["park"] != netmontest.ParkID || summary["junctions"].(float64) != 62 {
		t.Fatalf("registered %+v", summary)
	}
	admin.expect(http.StatusConflict, "POST", "/networks", reg, nil)
	admin.expect(http.StatusOK, "PUT", "/networks/"+netmontest.NetworkID, reg, nil) // unchanged
	netmontest.WaitFor(t, "the monitor to load the network", func() bool { _, ok := mon.Status(netmontest.NetworkID); return ok })

	// Scope: the park and the operator see it, another enterprise does not.
	for who, want := range map[string]int{"admin": 1, "park": 1, "utility": 1, "auditor": 1, "other": 0} {
		var list []map[string]any
		as(who).expect(http.StatusOK, "GET", "/networks", nil, &list)
		if len(list) != want {
			t.Errorf("%s sees %d networks, want %d", who, len(list), want)
		}
	}
	as("other").expect(http.StatusForbidden, "GET", "/networks/"+netmontest.NetworkID, nil, nil)
	as("other").expect(http.StatusForbidden, "GET", "/networks/"+netmontest.NetworkID+"/leaks", nil, nil)
	var detail struct {
		Nodes []struct {
			ID        string  `json:"id"`
			X         float64 `json:"x"`
			Y         float64 `json:"y"`
			HasCoords bool    `json:"has_coords"`
			Zone      string  `json:"zone"`
		} `json:"nodes"`
		Links []struct {
			ID, From, To string
		} `json:"links"`
	}
	as("park").expect(http.StatusOK, "GET", "/networks/"+netmontest.NetworkID, nil, &detail)
	if len(detail.Nodes) != 64 || len(detail.Links) != 85 || !detail.Nodes[0].HasCoords {
		t.Fatalf("map: %d nodes, %d links", len(detail.Nodes), len(detail.Links))
	}

	// Live readings: a day of calibration, then a leak.
	mon2 := func() int {
		st, _ := mon.Status(netmontest.NetworkID)
		if st.Detector == nil {
			return 0
		}
		return st.Detector.Steps + st.Detector.Assembler.Skipped
	}
	alarmed := func() bool { st, _ := mon.Status(netmontest.NetworkID); return st.OpenAlarm != 0 }
	const leakNode = "A16"
	onset := int64(86400 + 9*3600)
	next := p.Feed(t, 0, onset-300, clk, mon.Committed, mon2, alarmed)
	if alarmed() {
		t.Fatal("alarm before the leak")
	}
	var state netmon.State
	as("utility").expect(http.StatusOK, "GET", "/networks/"+netmontest.NetworkID+"/state?time="+p.At(onset-600).Format(time.RFC3339), nil, &state)
	if !state.Measured || len(state.Nodes) != 64 || state.NetworkTime != "08:50" {
		t.Fatalf("state: measured %v, %d nodes, at %s", state.Measured, len(state.Nodes), state.NetworkTime)
	}
	for _, s := range state.Sensors {
		if s.Measured == nil || math.Abs(*s.Measured-s.Modelled) > 0.05*math.Abs(s.Modelled)+1 {
			t.Errorf("sensor %s %s: measured %v, modelled %.2f", s.Kind, s.Element, s.Measured, s.Modelled)
		}
	}
	if _, err := p.Model.OpenLeak(leakNode, 10); err != nil {
		t.Fatal(err)
	}
	p.Feed(t, next, onset+4*3600, clk, mon.Committed, mon2, alarmed)
	var leaks []struct {
		Alarm       alarm.Alarm      `json:"alarm"`
		Leak        alarm.Leak       `json:"leak"`
		WorkOrder   *workorder.Order `json:"work_order"`
		WaterLostM3 float64          `json:"water_lost_m3"`
	}
	as("park").expect(http.StatusOK, "GET", "/networks/"+netmontest.NetworkID+"/leaks?state=open", nil, &leaks)
	if len(leaks) != 1 {
		t.Fatalf("%d open leaks, want 1", len(leaks))
	}
	lk := leaks[0]
	if len(lk.Leak.Candidates) == 0 || lk.Leak.Candidates[0].Node != leakNode || math.Abs(lk.Leak.FlowM3H-10) > 3 || lk.Alarm.Kind != netmon.KindLeak {
		t.Fatalf("leak %+v", lk)
	}
	t.Logf("leak at %s alarmed %v after onset, %.1f m³/h, rank-1 pipe %s at node %s",
		leakNode, lk.Leak.Raised.Sub(p.At(onset)), lk.Leak.FlowM3H, lk.Leak.Candidates[0].Link, lk.Leak.Candidates[0].Node)
	alarmID := lk.Alarm.ID

	// Work order: not by an auditor, not on another tenant's alarm.
	as("auditor").expect(http.StatusForbidden, "POST", "/workorders", map[string]any{"alarm": alarmID}, nil)
	as("other").expect(http.StatusForbidden, "POST", "/workorders", map[string]any{"alarm": alarmID}, nil)
	var wo workorder.Order
	as("utility").expect(http.StatusCreated, "POST", "/workorders", map[string]any{"alarm": alarmID, "note": "夜班处理"}, &wo)
	if wo.State != workorder.Open || wo.Network != netmontest.NetworkID || !wo.LeakStart.Equal(lk.Leak.Start) || wo.LeakFlowM3H != lk.Leak.FlowM3H {
		t.Fatalf("work order %+v", wo)
	}
	as("utility").expect(http.StatusConflict, "POST", "/workorders", map[string]any{"alarm": alarmID}, nil)
	as("utility").expect(http.StatusBadRequest, "POST", fmt.Sprintf("/workorders/%d/assign", wo.ID), map[string]any{}, nil)
	clk.Set(clk.Now().Add(30 * time.Minute))
	as("park").expect(http.StatusOK, "POST", fmt.Sprintf("/workorders/%d/assign", wo.ID), map[string]any{"assignee": "抢修二班", "note": "带听漏仪"}, &wo)
	if wo.State != workorder.Assigned || wo.Assignee != "抢修二班" {
		t.Fatalf("assigned %+v", wo)
	}
	as("other").expect(http.StatusForbidden, "GET", fmt.Sprintf("/workorders/%d", wo.ID), nil, nil)
	var others []workorder.Order
	as("other").expect(http.StatusOK, "GET", "/workorders", nil, &others)
	if len(others) != 0 {
		t.Fatalf("another enterprise sees %d work orders", len(others))
	}
	// Repair: the leak is closed in the model, the order closed by the crew
	// 3 h after the estimated onset... plus the time the alarm took.
	if err := p.Model.CloseLeak(leakNode); err != nil {
		t.Fatal(err)
	}
	closeAt := wo.LeakStart.Add(5 * time.Hour)
	clk.Set(closeAt)
	as("utility").expect(http.StatusBadRequest, "POST", fmt.Sprintf("/workorders/%d/close", wo.ID), map[string]any{"repaired_link": "NOPE"}, nil)
	repaired := lk.Leak.Candidates[0].Link
	as("utility").expect(http.StatusOK, "POST", fmt.Sprintf("/workorders/%d/close", wo.ID), map[string]any{"repaired_link": repaired, "note": "更换管段"}, &wo)
	wantLost := lk.Leak.FlowM3H * 5
	if wo.State != workorder.Closed || wo.RepairedLink != repaired || math.Abs(wo.WaterLostM3-wantLost) > 1e-6 {
		t.Fatalf("closed %+v, want %.2f m³ lost", wo, wantLost)
	}
	as("utility").expect(http.StatusConflict, "POST", fmt.Sprintf("/workorders/%d/close", wo.ID), map[string]any{}, nil)
	var full struct {
		WorkOrder workorder.Order   `json:"work_order"`
		History   []workorder.Event `json:"history"`
		Leak      *alarm.Leak       `json:"leak"`
	}
	as("park").expect(http.StatusOK, "GET", fmt.Sprintf("/workorders/%d", wo.ID), nil, &full)
	if len(full.History) != 3 || full.History[2].Action != "close" || full.Leak == nil || full.WorkOrder.WaterLostM3 != wo.WaterLostM3 {
		t.Fatalf("work order with history %+v", full)
	}
	// Closing cleared the alarm; the monitor re-arms.
	a, err := p.Store.Alarm(context.Background(), alarmID)
	if err != nil || a.State != alarm.Cleared {
		t.Fatalf("alarm after the repair: %+v, %v", a, err)
	}
	netmontest.WaitFor(t, "the detector to re-arm", func() bool {
		st, _ := mon.Status(netmontest.NetworkID)
		return st.OpenAlarm == 0 && st.Detector.Watching
	})
	t.Logf("work order %d: %s, assigned to %s, closed with pipe %s; water lost %.1f m³", wo.ID, wo.Title, wo.Assignee, wo.RepairedLink, wo.WaterLostM3)

	// The zone balance covers the whole period.
	var zb netmon.ZoneBalance
	as("utility").expect(http.StatusOK, "GET", "/networks/"+netmontest.NetworkID+"/zones?from="+p.At(0).Format(time.RFC3339)+"&to="+p.At(86400).Format(time.RFC3339), nil, &zb)
	if len(zb.Zones) != 1 || len(zb.T) != 24 || len(zb.Zones[0].MNF) != 1 || zb.Zones[0].InflowM3 < 24*200 {
		t.Fatalf("zone balance: %d zones, %d buckets, %+v", len(zb.Zones), len(zb.T), zb.Zones)
	}
	admin.expect(http.StatusOK, "GET", "/networks/"+netmontest.NetworkID+"/inp", nil, nil)
}

// raw calls the API and returns the status and body.
func (c client) raw(method, path string, body any) (int, string) {
	c.t.Helper()
	code, _, b := c.rawHeader(method, path, body)
	return code, b
}

// rawHeader is raw with the answer's header.
func (c client) rawHeader(method, path string, body any) (int, http.Header, string) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}
