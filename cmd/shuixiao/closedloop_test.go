package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/command"
	"github.com/shuixiao/shuixiao/internal/control"
	"github.com/shuixiao/shuixiao/internal/sim"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/verify"
)

// TestClosedLoopThroughTheRealPath closes the loop through every part of
// the platform: the simulated cooling tower and reuse train sign their
// analysers' readings and publish them over MQTT, the ingest pipeline puts
// them in the ledger and the store, the server's control loops step on the
// committed values, the actuation layer records each command in the ledger
// and publishes it on the device's command topic, and the simulated
// actuators apply and acknowledge it. Time is compressed 900× (a 40 ms step
// is 36 s of process time): 7 hours of process with a heat-load step at
// 1 h (range 8 → 10.4 °C) and a ±15 % make-up conductivity swing from 3 h
// hold the cycles within ±0.2 of the set-point and the product within ±10 %;
// no command exceeds its interlock; the ledger's command entries verify.
func TestClosedLoopThroughTheRealPath(t *testing.T) {
	const tick, hours = 40 * time.Millisecond, 7.0
	speed := 900.0
	if raceEnabled {
		// The race detector slows the platform's path from a published
		// reading to an applied command several-fold; at 900× each 100 ms
		// of it is 1.5 min of process time the controller acts late, which
		// is a property of the instrumented build, not of the controller.
		// Compressing time half as much keeps that lag near what an
		// ordinary build has at 900×; the bounds asserted stay the same.
		speed = 450
	}
	pp, err := sim.NewProcessPlant("EN-430300-901", sim.FastProcessParams(), speed, tick, 5)
	if err != nil {
		t.Fatal(err)
	}
	pp.FeedbackEvery = 50
	pp.Paced = true // a stall of the machine pauses the plant (see ProcessPlant.Paced)
	// The server's controllers step on the plant's clock: while the plant
	// holds its time, so do they (a wall-clock controller would integrate
	// through the pause, which on a loaded machine drove the cycles 2 off).
	dir := t.TempDir()
	s := startTestServerWith(t, dir, func(c *serverConfig) { c.ControlClock = pp.Clock() })
	admin := s.client(s.token)
	must(t, admin.post("/api/v1/parks", meter.Park{ID: "PK-T", Name: "测试园区", Region: "430300"}, nil))
	must(t, admin.post("/api/v1/enterprises", meter.Enterprise{ID: "EN-430300-901", Name: "测试企业", Park: "PK-T", Region: "430300", Industry: "2614"}, nil))
	var logBuf bytes.Buffer
	var logMu sync.Mutex
	pp.Log = writerFunc(func(p []byte) (int, error) { logMu.Lock(); defer logMu.Unlock(); return logBuf.Write(p) })
	var mu sync.Mutex
	var truth []sim.ProcessState
	pp.Observe(func(st sim.ProcessState) { mu.Lock(); truth = append(truth, st); mu.Unlock() })
	api := &sim.API{Base: s.URL(), Token: s.token}
	state := sim.MemoryStore(5)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := pp.Register(ctx, api, state); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	start, plantStart := time.Now(), pp.Clock().Now()
	go func() { done <- pp.Run(ctx, s.broker.Addr(), state) }()
	// The paced plant holds its clock while the platform is behind, so on a
	// loaded machine the run takes several times its nominal wall time (5×
	// has been seen). What fails the test is a plant whose clock stops: no
	// process time for a minute of wall time, or under a tenth of nominal
	// speed overall.
	nominal := time.Duration(hours * 3600 / speed * float64(time.Second))
	deadline := time.Now().Add(10 * nominal)
	var detail struct {
		Live *control.Live `json:"live"`
	}
	lastT, lastMoved := -1.0, time.Now()
	for {
		st := pp.State()
		if st.T >= hours*3600 {
			break
		}
		if detail.Live == nil && st.T >= 0.9*hours*3600 {
			// The live view answers through the API while the loop runs.
			must(t, admin.get("/api/v1/plants/"+pp.ID, &detail))
		}
		if st.T > lastT {
			lastT, lastMoved = st.T, time.Now()
		}
		if time.Since(lastMoved) > time.Minute {
			t.Fatalf("the plant's clock stopped at %.2f h of process time for a minute (%d ticks held)", st.T/3600, pp.Held())
		}
		if time.Now().After(deadline) {
			t.Fatalf("the plant reached only %.2f h of process time in %v (%d ticks held)", st.T/3600, 10*nominal, pp.Held())
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wall, plantEnd := time.Since(start), pp.Clock().Now()

	// Cycles as the controller measured them (its history, one point a step),
	// product as the plant really held it.
	hist, err := s.control.runner.History(pp.ID)
	if err != nil {
		t.Fatal(err)
	}
	const settle = 1800.0 // the controllers' first half hour of process time
	origin := hist[0].ProcessTime
	worstN, worstP, worstPM := 0.0, 0.0, 0.0
	steps := 0
	for _, h := range hist {
		if h.ProcessTime.Sub(origin).Seconds() < settle || math.IsNaN(float64(h.Cycles)) {
			continue
		}
		steps++
		worstN = math.Max(worstN, math.Abs(float64(h.Cycles-h.CyclesSP)))
		worstPM = math.Max(worstPM, math.Abs(float64(h.ProductMgL-h.ProductSP))/float64(h.ProductSP))
	}
	mu.Lock()
	sp := pp.Control.Tower.Inhibitor.SetpointMgL
	var roClean, bw int
	for _, st := range truth {
		if st.T >= settle {
			worstP = math.Max(worstP, math.Abs(st.Tower.ProductMgL-sp)/sp)
		}
		roClean, bw = st.ROCleanings, st.UFBackwashes
	}
	mu.Unlock()
	applied, refused := pp.Counts()
	t.Logf("%.1f h of process in %.1f s wall (%d ticks held for the platform): %d control steps evaluated; worst |N − N_set| %.3f; worst product %.1f %% (measured %.1f %%); UF backwashes %d, RO cleanings %d; commands applied %d, refused %d",
		hours, wall.Seconds(), pp.Held(), steps, worstN, 100*worstP, 100*worstPM, bw, roClean, applied, refused)
	// The controllers lived through the plant's process time, no more: on
	// the wall clock they went on stepping while the plant held its time
	// and saw 11 h pass in its 7 (24 h under load).
	plantT := pp.State().T
	if span := hist[len(hist)-1].ProcessTime.Sub(origin).Seconds(); math.Abs(span-plantT) > 0.05*plantT {
		t.Errorf("the controllers counted %.2f h of process time, the plant %.2f h", span/3600, plantT/3600)
	}
	if steps < 300 {
		t.Errorf("only %d control steps with a measured cycles value", steps)
	}
	if worstN > 0.2 {
		t.Errorf("cycles left ±0.2 of the set-point: %.3f", worstN)
	}
	if worstP > 0.10 {
		t.Errorf("product left ±10 %%: %.1f %%", 100*worstP)
	}
	if refused > 0 {
		t.Errorf("devices refused %d commands (outside their nameplate):\n%s", refused, logBuf.String())
	}
	if bw == 0 {
		t.Error("the UF never backwashed")
	}

	// The command log: every command recorded with its cause and acknowledged.
	var cmds []command.Record
	must(t, admin.get("/api/v1/plants/"+pp.ID+"/commands?limit=5000", &cmds))
	limits := map[string]float64{}
	for _, a := range pp.Control.Actuators {
		limits[a.Name] = a.Max
	}
	maxSent := map[string]float64{}
	acked := 0
	for _, c := range cmds {
		if c.Kind != command.KindIssue {
			continue
		}
		maxSent[c.Actuator] = math.Max(maxSent[c.Actuator], c.Value)
		if c.Value > limits[c.Actuator] || c.Value > c.Max {
			t.Errorf("command %s: %s = %g above its interlock %g", c.ID, c.Actuator, c.Value, limits[c.Actuator])
		}
		if c.Status == command.Acked {
			acked++
		}
		if c.By == "" || c.Index == 0 {
			t.Errorf("command %s has no cause or no ledger index: %+v", c.ID, c)
		}
	}
	t.Logf("%d commands, %d acknowledged; highest value sent per actuator vs its limit: %v vs %v", len(cmds), acked, maxSent, limits)
	if acked < len(cmds)*9/10 {
		t.Errorf("only %d of %d commands acknowledged", acked, len(cmds))
	}
	// The permeate went to its uses through the reuse valves, by quality class.
	for _, v := range []string{"reuse_to_rinse", "reuse_to_boiler", "reuse_to_tower", "reuse_to_washing"} {
		if maxSent[v] != 100 {
			t.Errorf("reuse valve %s never opened", v)
		}
	}

	// The ledger: command entries verify with the log key alone, none is out of bounds.
	logKey, err := note.NewVerifier(s.ledger.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ledger.AwaitPublished(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	f, err := verify.NewFetcher(filepath.Join(dir, "ledger"), nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Audit(context.Background(), f, verify.AuditOptions{LogKey: logKey})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ProblemCount > 0 || rep.CommandEntries == 0 {
		t.Fatalf("audit: %d problems %+v, %d command entries", rep.ProblemCount, rep.Problems, rep.CommandEntries)
	}
	for _, st := range rep.CommandStats {
		if st.MaxValue > st.MaxBound || st.MaxBound > limits[st.Command] {
			t.Errorf("ledger: %s issued up to %g with bound %g (limit %g)", st.Command, st.MaxValue, st.MaxBound, limits[st.Command])
		}
	}
	t.Logf("audit: %d entries, %d readings, %d command entries, 0 problems", rep.Entries, rep.Readings, rep.CommandEntries)
	// A receipt for a command entry verifies offline.
	proof, err := s.ledger.Proof(context.Background(), cmds[len(cmds)-1].Index)
	if err != nil {
		t.Fatal(err)
	}
	r, err := verify.VerifyReceipt(proof, verify.ReceiptKeys{Log: logKey})
	if err != nil || r.Command == nil || reading.Kind(r.Entry) != reading.CommandHeader {
		t.Fatalf("command receipt: %v", err)
	}
	if !strings.Contains(string(r.Entry), "id "+cmds[len(cmds)-1].ID) {
		t.Fatalf("receipt entry %q", r.Entry)
	}

	checkPlantAccess(t, s, pp, cmds)
	// `shuixiao verify log` lists the commands per actuator and passes.
	var out, errOut bytes.Buffer
	if code := verifyMain(context.Background(), []string{"log", filepath.Join(dir, "ledger", "log"), "--log-key", filepath.Join(dir, "ledger", "log.vkey")}, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "inhibitor_pump") || !strings.Contains(out.String(), "控制指令 commands") {
		t.Errorf("verify log exit %d:\n%s\n%s", code, out.String(), errOut.String())
	}

	// The RO trend over the run: the membranes fouled and were cleaned; the
	// normalised flow never strays beyond what fouling explains.
	var ro struct {
		Points []struct {
			Flow *float64 `json:"flow_change_pct"`
		} `json:"points"`
		Cleanings []struct {
			Index  uint64 `json:"index"`
			Status string `json:"status"`
		} `json:"cleanings"`
	}
	// The readings carry the plant's time (see ProcessPlant.Paced).
	must(t, admin.get("/api/v1/plants/"+pp.ID+"/ro?points=50&from="+plantStart.UTC().Format(time.RFC3339Nano)+"&to="+plantEnd.UTC().Format(time.RFC3339Nano), &ro))
	worstFlow := 0.0
	for _, p := range ro.Points {
		if p.Flow != nil {
			worstFlow = math.Min(worstFlow, *p.Flow)
		}
	}
	// Every cleaning the plant acknowledged is marked; the run may stop with
	// one more commanded but not yet acknowledged.
	ackedClean := 0
	for _, c := range ro.Cleanings {
		if c.Status == command.Acked {
			ackedClean++
		}
	}
	if len(ro.Points) < 40 || ackedClean != roClean || len(ro.Cleanings) > roClean+1 || roClean == 0 || worstFlow < -30 {
		t.Errorf("RO trend: %d points, %d cleanings (%d acknowledged; plant: %d), lowest normalised flow change %.1f %%", len(ro.Points), len(ro.Cleanings), ackedClean, roClean, worstFlow)
	}
	if detail.Live == nil || detail.Live.Tower == nil || detail.Live.Indices == nil || math.IsNaN(float64(detail.Live.Indices.LSI)) ||
		len(detail.Live.Tower.FailSafe) > 0 {
		raw, _ := json.Marshal(detail.Live)
		t.Fatalf("live view %s", raw)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// checkPlantAccess checks who may see and operate a plant: every role that
// sees the enterprise reads it; only an admin or the enterprise's own token
// changes set-points and modes; interlocks refuse out-of-bounds operator
// values; a command entry's receipt is served to its enterprise only.
func checkPlantAccess(t *testing.T, s *server, pp *sim.ProcessPlant, cmds []command.Record) {
	t.Helper()
	admin := s.client(s.token)
	must(t, admin.post("/api/v1/enterprises", meter.Enterprise{ID: "EN-430300-902", Name: "另一企业", Park: "PK-T", Region: "430300", Industry: "2614"}, nil))
	mk := func(role, scope string) *apiClient {
		var out struct {
			Secret string `json:"secret"`
		}
		must(t, admin.post("/api/v1/tokens", map[string]string{"role": role, "scope": scope, "name": role + " " + scope}, &out))
		return s.client(out.Secret)
	}
	own, other, park, auditor := mk("enterprise", pp.Enterprise), mk("enterprise", "EN-430300-902"), mk("park", "PK-T"), mk("auditor", "")
	path := "/api/v1/plants/" + pp.ID
	code := func(c *apiClient, method, p string, body any) int {
		n, _ := c.do(method, p, body, nil)
		return n
	}
	for _, tc := range []struct {
		name   string
		c      *apiClient
		method string
		path   string
		body   any
		want   int
	}{
		{"own enterprise reads", own, "GET", path, nil, 200},
		{"park reads", park, "GET", path + "/commands", nil, 200},
		{"auditor reads", auditor, "GET", path + "/sequences", nil, 200},
		{"other enterprise refused", other, "GET", path, nil, 403},
		{"park may not operate", park, "POST", path + "/setpoints", map[string]any{"name": "cycles", "value": 5.2}, 403},
		{"auditor may not operate", auditor, "POST", path + "/actuators/inhibitor_pump/mode", map[string]any{"mode": "locked"}, 403},
		{"other enterprise may not operate", other, "POST", path + "/setpoints", map[string]any{"name": "cycles", "value": 5.2}, 403},
		{"set-point beyond its bounds", own, "POST", path + "/setpoints", map[string]any{"name": "cycles", "value": 9}, 400},
		{"unknown set-point", own, "POST", path + "/setpoints", map[string]any{"name": "flow", "value": 1}, 404},
		{"manual dose beyond the interlock", own, "POST", path + "/actuators/inhibitor_pump/mode", map[string]any{"mode": "manual", "value": 5}, 400},
		{"unknown actuator", own, "POST", path + "/actuators/valve_x/mode", map[string]any{"mode": "locked"}, 404},
		{"unknown mode", own, "POST", path + "/actuators/inhibitor_pump/mode", map[string]any{"mode": "sideways"}, 400},
		{"own enterprise changes a set-point", own, "POST", path + "/setpoints", map[string]any{"name": "cycles", "value": 5.2, "reason": "test"}, 201},
		{"own enterprise locks out", own, "POST", path + "/actuators/acid_pump/mode", map[string]any{"mode": "locked", "reason": "test"}, 201},
		{"own enterprise releases", own, "POST", path + "/actuators/acid_pump/mode", map[string]any{"mode": "auto"}, 201},
		{"registration is for admins", own, "POST", "/api/v1/plants", pp.Control, 403},
		{"own command receipt", own, "GET", fmt.Sprintf("/api/v1/ledger/entry?index=%d", cmds[0].Index), nil, 200},
		{"other enterprise's command receipt", other, "GET", fmt.Sprintf("/api/v1/ledger/entry?index=%d", cmds[0].Index), nil, 403},
	} {
		if got := code(tc.c, tc.method, tc.path, tc.body); got != tc.want {
			t.Errorf("%s: %s %s answered %d, want %d", tc.name, tc.method, tc.path, got, tc.want)
		}
	}
	var list []map[string]any
	must(t, other.get("/api/v1/plants", &list))
	if len(list) != 0 {
		t.Errorf("another enterprise lists %d plants", len(list))
	}
	cfg, err := s.control.runner.Config(pp.ID)
	if err != nil || cfg.Tower.Blowdown.CyclesSetpoint != 5.2 {
		t.Errorf("the set-point change did not take effect: %v", err)
	}

	// The cycles optimiser's limit accepted as the set-point: refused to a
	// role that may not operate and for a figure the optimiser did not give;
	// recorded on the ledger with its cause, and applied.
	var d struct {
		Live *control.Live `json:"live"`
	}
	must(t, own.get(path, &d))
	if d.Live == nil || d.Live.Reuse == nil || d.Live.Reuse.Routing == nil || len(d.Live.Reuse.Routing.Uses) != 4 {
		t.Fatalf("live routing %+v", d.Live)
	}
	limit := float64(d.Live.Indices.MaxCycles)
	accept := path + "/cooling/accept-cycles"
	for _, tc := range []struct {
		name string
		c    *apiClient
		body any
		want int
	}{
		{"park may not accept", park, map[string]any{"max_cycles": limit}, 403},
		{"a figure the optimiser did not give", own, map[string]any{"max_cycles": limit + 1}, 409},
		{"no figure at all", own, map[string]any{"reason": "x"}, 409},
	} {
		if got := code(tc.c, "POST", accept, tc.body); got != tc.want {
			t.Errorf("%s: answered %d, want %d", tc.name, got, tc.want)
		}
	}
	var rec command.Record
	must(t, own.post(accept, map[string]any{"max_cycles": limit, "reason": "test"}, &rec))
	cfg, _ = s.control.runner.Config(pp.ID)
	if rec.Kind != command.KindSetpoint || rec.Index == 0 || rec.Inputs[0].Name != "max_cycles" || rec.Inputs[0].Value != limit ||
		math.Abs(rec.Value-limit) > 1 || cfg.Tower.Blowdown.CyclesSetpoint != rec.Value {
		t.Errorf("accepted %+v; set-point now %g", rec, cfg.Tower.Blowdown.CyclesSetpoint)
	}
}
