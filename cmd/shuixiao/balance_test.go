package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runBalanceCaptured runs the command and returns its exit code and what it
// wrote to standard error.
func runBalanceCaptured(t *testing.T, args ...string) (int, string) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = f
	code := runBalance(args)
	os.Stderr = old
	b, _ := os.ReadFile(f.Name())
	f.Close()
	return code, string(b)
}

const balanceData = "testdata/balance/"

func readResult(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("RESULT.json: %v", err)
	}
	return m
}

func TestBalanceCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "result.json")
	code, stderr := runBalanceCaptured(t, "--points", balanceData+"points.json", "--volumes", balanceData+"volumes.csv",
		"--production", balanceData+"production.csv", "--value-added", "20000", "--quotas", balanceData+"quotas.csv", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m := readResult(t, out)
	// One month of the constructed steel works (testdata/balance): intake
	// 300000 surface + 25000 municipal + 5000 purchased steam + 10000 mine.
	for k, want := range map[string]float64{
		"intake_m3": 340000, "non_conventional_m3": 10000, "recirculated_m3": 9900000, "cascaded_m3": 82000,
		"reuse_m3": 9982000, "total_use_m3": 10322000, "discharge_m3": 60000, "leakage_m3": 5000, "consumption_m3": 275000,
		"reuse_rate": 9982000.0 / 10322000, "non_conventional_rate": 10000.0 / 340000, "discharge_rate": 60000.0 / 340000,
		"intake_per_10k_cny": 17, "wastewater_reuse_rate": 0.4, "indirect_cooling_rate": 6e6 / 6.15e6,
		"direct_cooling_rate": 3e6 / 3.1e6, "process_reuse_rate": 0.9375, "condensate_reuse_rate": 12000.0 / 37000,
		"leakage_rate": 5000.0 / 340000, "metering_ratio": 335000.0 / 340000,
	} {
		v, ok := m[k].(float64)
		if !ok || math.Abs(v-want) > 1e-12*math.Max(1, want) {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	src := m["intake_by_source_m3"].(map[string]any)
	if src["surface"] != 300000.0 || src["steam"] != 5000.0 || src["mine"] != 10000.0 || src["municipal"] != 25000.0 || len(src) != 4 {
		t.Errorf("intake_by_source_m3 = %v", src)
	}
	if m["balance_error"] != nil || !strings.Contains(stderrOrNote(m, "balance_error"), "consumption is not metered") {
		t.Errorf("balance_error = %v, coverage %v", m["balance_error"], stderrOrNote(m, "balance_error"))
	}
	steel := m["products"].(map[string]any)["粗钢"].(map[string]any)
	for k, want := range map[string]any{"intake_per_unit": 3.4, "unit": "m3/t", "quota_grade": "2", "baseline_2020": 3.5,
		"target_2025": 3.15, "meets_target_2025": false} {
		if steel[k] != want {
			t.Errorf("粗钢 %s = %v, want %v", k, steel[k], want)
		}
	}
	for _, k := range []string{"coverage", "units", "missing_points", "consumption_rate", "balance_tolerance"} {
		if _, ok := m[k]; !ok {
			t.Errorf("RESULT.json has no %s", k)
		}
	}
	// Without --quotas the built-in tables apply; they have no 粗钢 quota.
	code, stderr = runBalanceCaptured(t, "--points", balanceData+"points.json", "--volumes", balanceData+"volumes.csv",
		"--production", balanceData+"production.csv", "--out", out)
	m = readResult(t, out)
	steel = m["products"].(map[string]any)["粗钢"].(map[string]any)
	if code != 0 || steel["quota_grade"] != nil || steel["intake_per_unit"] != 3.4 {
		t.Errorf("built-in quotas: exit %d (%s), %v", code, stderr, steel)
	}
	if _, ok := m["intake_per_10k_cny"]; ok {
		t.Error("intake_per_10k_cny without --value-added")
	}
}

func stderrOrNote(m map[string]any, key string) string {
	c, _ := m["coverage"].(map[string]any)[key].(map[string]any)
	s, _ := c["note"].(string)
	return s
}

// A point without a volume: RESULT.json keeps every figure that does not
// need it and nulls the rest with the reason; the exit code says so unless
// --allow-missing.
func TestBalanceCommandMissingPoint(t *testing.T) {
	dir := t.TempDir()
	vol, _ := os.ReadFile(balanceData + "volumes.csv")
	partial := filepath.Join(dir, "volumes.csv")
	if err := os.WriteFile(partial, []byte(strings.Replace(string(vol), "RM,60000\n", "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "result.json")
	args := []string{"--points", balanceData + "points.json", "--volumes", partial, "--out", out}
	code, stderr := runBalanceCaptured(t, args...)
	if code != 1 || !strings.Contains(stderr, "for points RM") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	m := readResult(t, out)
	if m["intake_m3"] != 340000.0 || m["reuse_m3"] != 9982000.0 {
		t.Errorf("figures without RM lost: intake %v reuse %v", m["intake_m3"], m["reuse_m3"])
	}
	for _, k := range []string{"level2_m3", "leakage_m3", "leakage_rate", "metering_ratio", "process_reuse_rate"} {
		if v, ok := m[k]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", k, v, ok)
		}
		if !strings.Contains(stderrOrNote(m, k), "no volume for RM") {
			t.Errorf("%s note %q", k, stderrOrNote(m, k))
		}
	}
	if miss := m["missing_points"].([]any); len(miss) != 1 || miss[0] != "RM" {
		t.Errorf("missing_points %v", miss)
	}
	if code, _ := runBalanceCaptured(t, append(args, "--allow-missing")...); code != 0 {
		t.Errorf("--allow-missing: exit %d", code)
	}
}

func TestBalanceCommandBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	vol, _ := os.ReadFile(balanceData + "volumes.csv")
	points := balanceData + "points.json"
	volumes := balanceData + "volumes.csv"
	out := filepath.Join(dir, "result.json")
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown product", []string{"--production", write("p1.csv", "product,quantity,unit\n粗钢,1,t\n钢材,2,t\n")}, 1, "p1.csv line 3, field product: unknown product \"钢材\""},
		{"unknown unit", []string{"--production", write("p2.csv", "product,quantity,unit\n啤酒,1,L\n")}, 1, "p2.csv line 2, field unit: unknown unit \"L\""},
		{"negative quantity", []string{"--production", write("p3.csv", "product,quantity,unit\n粗钢,-1,t\n")}, 1, "p3.csv line 2, field quantity"},
		{"absurd quantity", []string{"--production", write("p4.csv", "product,quantity,unit\n粗钢,1e12,t\n")}, 1, "p4.csv line 2, field quantity"},
		{"unknown point", []string{"--volumes", write("v1.csv", string(vol)+"GHOST,5\n")}, 1, "v1.csv line 19, field point: unknown point GHOST"},
		{"duplicate volume", []string{"--volumes", write("v2.csv", string(vol)+"BF,5\n")}, 1, "v2.csv line 19, field point: point BF already given on line 7"},
		{"volume of a pH point", []string{"--volumes", write("v3.csv", string(vol)+"OUTFALL-PH,5\n")}, 1, "point OUTFALL-PH measures no volume"},
		{"malformed volumes", []string{"--volumes", write("v4.csv", "point,m3\nBF,\"1\n")}, 1, "v4.csv"},
		{"quota gap", []string{"--quotas", write("q1.csv", "product,unit,grade,limit\n粗钢,m3/t,1,3\n粗钢,m3/t,3,4\n")}, 1, "q1.csv line 3, field grade: 粗钢 has grades 1 and 3 but no grade 2"},
		{"quota duplicate", []string{"--quotas", write("q2.csv", "product,unit,grade,limit\n粗钢,m3/t,2,3\n粗钢,m3/t,2,4\n")}, 1, "q2.csv line 3, field grade"},
		{"malformed points", []string{"--points", write("p.json", `[{"id":"A",`)}, 1, "p.json: unexpected EOF"},
		{"no such file", []string{"--points", filepath.Join(dir, "none.json")}, 1, "none.json"},
		{"no --out", []string{"--out", ""}, 2, "usage: shuixiao balance"},
		{"positional", []string{"extra"}, 2, "usage: shuixiao balance"},
		{"bad value added", []string{"--value-added", "-5"}, 2, "--value-added -5"},
		{"report without its period", []string{"--xlsx", "r.xlsx"}, 2, "--xlsx/--pdf need the test period"},
	} {
		args := append([]string{"--points", points, "--volumes", volumes, "--out", out}, c.args...)
		code, stderr := runBalanceCaptured(t, args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d naming %q", c.name, code, stderr, c.code, c.want)
		}
	}
	// Several products: the figures are written, intake per unit is null
	// with the reason, and the command says so.
	code, stderr := runBalanceCaptured(t, "--points", points, "--volumes", volumes, "--out", out,
		"--production", write("p5.csv", "product,quantity,unit\n粗钢,100000,t\n烧碱,2000,t\n"))
	m := readResult(t, out)
	caustic := m["products"].(map[string]any)["烧碱"].(map[string]any)
	if code != 0 || caustic["intake_per_unit"] != nil || caustic["baseline_2020"] != 7.1 || !strings.Contains(stderr, "several products") {
		t.Errorf("several products: exit %d, %v, stderr %q", code, caustic, stderr)
	}
}
