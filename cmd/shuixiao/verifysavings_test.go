package main

import (
	"encoding/json"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/contract"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/reading"
)

// mvOutput is enterprise EV's declared daily output of day k (from 1 March).
func mvOutput(k int) float64 { return 50 + float64((k*7)%11)*5 }

// mvIntake is EV's metered intake of day k: 100 + 2·output, ±3 m³ of noise,
// 15 % less from day 20 on (the retrofit).
func mvIntake(k int) float64 {
	v := 100 + 2*mvOutput(k) + 3*math.Sin(float64(k)*1.7)
	if k >= 20 {
		v *= 0.85
	}
	return v
}

// TestVerifySavingsAgreesWithTheServedStatement: a contract over a real
// server's ledger-backed readings, two statements issued, and verify
// savings recomputing them from the ledger alone; a changed statement and
// a tampered ledger fail, named.
func TestVerifySavingsAgreesWithTheServedStatement(t *testing.T) {
	dir := t.TempDir()
	s := startTestServer(t, dir)
	admin := s.client(s.token)
	total := meter.Channel{Name: "total_m3", Quantity: "volume", Unit: "m3", Kind: meter.Total, Max: 1e9}
	must(t, admin.post("/api/v1/parks", meter.Park{ID: "PKV", Name: "节水园区", Region: "430300"}, nil))
	must(t, admin.post("/api/v1/enterprises", meter.Enterprise{ID: "EV", Name: "节水企业", Park: "PKV", Region: "430300", Industry: "1713"}, nil))
	must(t, admin.post("/api/v1/points", meter.Point{ID: "EV-I", Enterprise: "EV", Name: "取水", Level: meter.Level1, Stage: meter.StageIntake,
		Source: meter.SourceGround, Channels: []meter.Channel{total}}, nil))
	m := newMeter(t, "MEV-I", "EV-I")
	must(t, admin.post("/api/v1/meters", map[string]any{"id": m.id, "point": m.point, "key": m.vkey, "interval_s": 3600}, nil))
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, production.Zone)
	const days = 30
	var notes []string
	reg := 1000.0
	var recs []map[string]any
	for k := 0; k < days; k++ {
		day := start.AddDate(0, 0, k)
		recs = append(recs, map[string]any{"enterprise": "EV", "kind": "output", "product": "机织印染布", "quantity": mvOutput(k), "unit": "100m",
			"from": day.Format(time.DateOnly), "to": day.Format(time.DateOnly)})
		for h := 0; h < 24; h++ {
			at := day.Add(time.Duration(h) * time.Hour)
			v := reg
			notes = append(notes, string(m.nextWith(t, 0, func(r *reading.Reading) { r.Time, r.Values = at, []reading.Value{{Channel: "total_m3", Value: v}} })))
			reg += mvIntake(k) / 24
		}
	}
	end := start.AddDate(0, 0, days)
	v := reg
	notes = append(notes, string(m.nextWith(t, 0, func(r *reading.Reading) { r.Time, r.Values = end, []reading.Value{{Channel: "total_m3", Value: v}} })))
	for i := 0; i < len(notes); i += 500 {
		must(t, admin.post("/api/v1/ingest", map[string]any{"readings": notes[i:min(i+500, len(notes))]}, nil))
	}
	must(t, admin.post("/api/v1/production", recs, nil))

	c := contract.Contract{ID: "CV-1", Name: "印染节水改造", Enterprise: "EV", ServiceCompany: "湘江节水服务公司", Option: contract.WholeFacility,
		Granularity: contract.Daily, Baseline: contract.Span{From: start, To: start.AddDate(0, 0, 20)},
		Reporting: []contract.Span{{From: start.AddDate(0, 0, 20), To: start.AddDate(0, 0, 25)}, {From: start.AddDate(0, 0, 25), To: end}},
		Drivers:   []contract.Driver{{Name: "production", Kind: contract.OutputDriver, Product: "机织印染布"}}, ServiceCompanyShare: 0.5}
	must(t, admin.post("/api/v1/contracts", c, nil))
	// An overlapping contract is refused with the reason.
	c2 := c
	c2.ID, c2.Option, c2.Points = "CV-2", contract.RetrofitIsolation, []string{"EV-I"}
	if err := admin.post("/api/v1/contracts", c2, nil); err == nil || !strings.Contains(err.Error(), "CV-1") || !strings.Contains(err.Error(), "409") {
		t.Fatalf("overlapping contract: %v", err)
	}
	ledgerDir := filepath.Join(dir, "ledger")
	waitCheckpoint(t, s, ledgerDir)
	var recs2 [2]contract.Record
	must(t, admin.post("/api/v1/contracts/CV-1/statements", map[string]any{"period": 1}, &recs2[0]))
	must(t, admin.post("/api/v1/contracts/CV-1/statements", map[string]any{"period": 2,
		"adjustments": []map[string]any{{"period": "2026-03-28", "m3": 12.5, "reason": "新增水洗工序 / a new rinsing step"}}}, &recs2[1]))
	for i, r := range recs2 {
		st := r.Statement
		if st.SavingsM3 <= 0 || !st.MeetsGuideline14 || st.CheckpointSize == 0 || len(st.CheckpointRoot) != 64 || len(r.Baseline) != 20 {
			t.Fatalf("statement %d: %+v (baseline %d periods)", i+1, st, len(r.Baseline))
		}
		// 15 % of the modelled intake, within the uncertainty of the noise.
		if want := 0.15 * r.RoutineM3; math.Abs(st.SavingsM3-r.NonRoutineM3-want) > st.UncertaintyM3+1 {
			t.Errorf("statement %d: savings %g (adjustment %g), want about %g ± %g", i+1, st.SavingsM3, r.NonRoutineM3, want, st.UncertaintyM3)
		}
	}
	keyFile := filepath.Join(ledgerDir, "log.vkey")
	tmp := t.TempDir()
	for _, r := range recs2 {
		id := r.Statement.ID
		var raw json.RawMessage
		must(t, admin.get("/api/v1/mv/statements/"+id, &raw))
		served := writeFile(t, filepath.Join(tmp, id+".json"), raw)
		if out := os.Getenv("SHUIXIAO_MV_STATEMENT_OUT"); out != "" {
			// Regenerates verify/testdata/statement.json (the fuzz seed).
			writeFile(t, out, raw)
		}
		code, out, errOut := runVerifyCmd(t, "savings", ledgerDir, "--log-key", keyFile, "--statement", id, "--served", served)
		if code != 0 || strings.Contains(out, "DIFFERS") {
			t.Fatalf("verify savings %s: exit %d\n%s\n%s", id, code, out, errOut)
		}
		for _, want := range []string{"savings_m3", "baseline[2026-03-01].intake_m3", "model.production", "declared"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	}
	t.Logf("statement 2: %+v", recs2[1].Statement)
	// Over HTTP, the statement fetched from its route.
	id := recs2[1].Statement.ID
	code, out, errOut := runVerifyCmd(t, "savings", s.URL()+"/ledger/", "--log-key", keyFile, "--statement", id, "--token", s.token)
	if code != 0 {
		t.Fatalf("verify savings over HTTP: exit %d\n%s\n%s", code, out, errOut)
	}

	// A changed statement: its figure differs from the ledger's and its
	// seal breaks.
	served := filepath.Join(tmp, id+".json")
	raw, _ := os.ReadFile(served)
	var doc map[string]any
	must(t, json.Unmarshal(raw, &doc))
	doc["statement"].(map[string]any)["savings_m3"] = doc["statement"].(map[string]any)["savings_m3"].(float64) + 50
	b, _ := json.Marshal(doc)
	code, out, errOut = runVerifyCmd(t, "savings", ledgerDir, "--log-key", keyFile, "--statement", id, "--served", writeFile(t, filepath.Join(tmp, "changed.json"), b))
	if code != 1 || !strings.Contains(errOut, "savings_m3") || !strings.Contains(errOut, "seal") {
		t.Fatalf("changed statement: exit %d\n%s\n%s", code, out, errOut)
	}
	// A changed metered period (outside the seal, which covers the
	// statement's figures only): named by the recomputation.
	var rec contract.Record
	must(t, json.Unmarshal(raw, &rec))
	rec.Baseline[3].IntakeM3 += 20
	b, _ = json.Marshal(rec)
	code, out, errOut = runVerifyCmd(t, "savings", ledgerDir, "--log-key", keyFile, "--statement", id, "--served", writeFile(t, filepath.Join(tmp, "period.json"), b))
	if code != 1 || !strings.Contains(errOut, "baseline[2026-03-04].intake_m3") {
		t.Fatalf("changed period intake: exit %d\n%s\n%s", code, out, errOut)
	}

	// One byte of a reading changed in a copy of the ledger.
	tampered := filepath.Join(tmp, "ledger")
	copyDir(t, ledgerDir, tampered)
	changed := false
	err := filepath.WalkDir(tampered, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || changed || !strings.Contains(filepath.ToSlash(p), "/tile/entries/") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if i := strings.Index(string(data), "total_m3 1"); i >= 0 {
			data[i+len("total_m3 1")]++
			changed = true
			return os.WriteFile(p, data, 0o644)
		}
		return nil
	})
	if err != nil || !changed {
		t.Fatalf("tamper: %v, changed %v", err, changed)
	}
	code, out, errOut = runVerifyCmd(t, "savings", tampered, "--log-key", keyFile, "--statement", id, "--served", served)
	if code != 1 || !strings.Contains(errOut, "LEDGER AUDIT FAILED") {
		t.Fatalf("tampered ledger: exit %d\n%s\n%s", code, out, errOut)
	}
}
