package main

import (
	"context"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shuixiao/shuixiao/carbon"
	"github.com/shuixiao/shuixiao/contract"
	"github.com/shuixiao/shuixiao/internal/sim"
)

// TestDemoContract: the demo's contract over fourteen simulated months,
// its two statements verifiable, and verify savings agreeing with both.
func TestDemoContract(t *testing.T) {
	if testing.Short() {
		t.Skip("signs and logs ten thousand readings")
	}
	dir := t.TempDir()
	s := startTestServer(t, dir)
	ids := demoContract(context.Background(), s, nil, 1, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if len(ids) != 2 {
		t.Fatal("the demo contract was not seeded")
	}
	admin := s.client(s.token)
	keyFile := filepath.Join(dir, "ledger", "log.vkey")
	for i, id := range ids {
		var rec contract.Record
		must(t, admin.get("/api/v1/mv/statements/"+id, &rec))
		st := rec.Statement
		// The retrofit saves 12 % of the modelled intake; the model's noise
		// is ±1.5 %.
		want := sim.RetrofitSaving * rec.RoutineM3
		if !st.Verifiable() || st.SavingsM3 < want-st.UncertaintyM3-0.02*rec.RoutineM3 || st.SavingsM3 > want+st.UncertaintyM3+0.02*rec.RoutineM3 {
			t.Errorf("statement %d: %+v, want verifiable savings near %.0f m³", i+1, st, want)
		}
		// The carbon its proven part avoids, at the factors it names.
		var av struct {
			ProvenM3       float64        `json:"proven_m3"`
			DischargeShare float64        `json:"discharge_share"`
			KgCO2          float64        `json:"kg_co2"`
			Factors        carbon.Factors `json:"factors"`
		}
		must(t, admin.get("/api/v1/mv/statements/"+id+"/carbon", &av))
		if kg, _, err := carbon.Avoided(st.Issuable(), av.DischargeShare, av.Factors); err != nil || av.ProvenM3 != st.Issuable() || av.KgCO2 <= 0 || math.Abs(av.KgCO2-kg) > 1e-9*kg {
			t.Errorf("statement %d: carbon avoided %+v, want %g kg for %g m³ (%v)", i+1, av, kg, st.Issuable(), err)
		}
		code, out, errOut := runVerifyCmd(t, "savings", s.URL()+"/ledger/", "--log-key", keyFile, "--statement", id, "--token", s.token)
		if code != 0 || strings.Contains(out, "DIFFERS") {
			t.Fatalf("verify savings %s: exit %d\n%s\n%s", id, code, out, errOut)
		}
	}
	// The backfill's skew alarm was cleared with its note.
	var active []map[string]any
	must(t, admin.get("/api/v1/alarms?state=active&kind=skew", &active))
	if len(active) != 0 {
		t.Errorf("active skew alarms after the seeding: %v", active)
	}
	// Tenant scope: the enterprise's token reads its statement and the
	// report; another enterprise's does not.
	must(t, admin.post("/api/v1/enterprises", map[string]string{"id": "EO", "name": "另一企业", "park": "PK-MV", "region": "430300", "industry": "3120"}, nil))
	for _, tk := range []struct {
		scope string
		want  int
	}{{"HN-MV-01", 200}, {"EO", 403}} {
		var made struct {
			Secret string `json:"secret"`
		}
		must(t, admin.post("/api/v1/tokens", map[string]string{"role": "enterprise", "scope": tk.scope}, &made))
		c := s.client(made.Secret)
		for _, path := range []string{"/api/v1/mv/statements/" + ids[0], "/api/v1/mv/statements/" + ids[0] + "/report.xlsx", "/api/v1/contracts/" + sim.ContractDemoID} {
			if code, _ := c.do("GET", path, nil, nil); code != tk.want {
				t.Errorf("%s token: GET %s: %d, want %d", tk.scope, path, code, tk.want)
			}
		}
	}
	// Seeding again finds the statements.
	if again := demoContract(context.Background(), s, nil, 1, slog.New(slog.NewTextHandler(io.Discard, nil))); len(again) != 2 || again[0] != ids[0] {
		t.Errorf("second seeding: %v, want %v", again, ids)
	}
}
