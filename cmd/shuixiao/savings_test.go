package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSavingsCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "result.json")
	if code := runSavings([]string{"--baseline", "testdata/savings/base.csv", "--reporting", "testdata/savings/rep.csv", "--out", out}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r map[string]any
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"model", "cv_rmse", "nmbe", "r2", "adjusted_baseline_m3", "reporting_m3", "savings_m3", "savings_uncertainty_m3", "meets_guideline14"} {
		if _, ok := r[k]; !ok {
			t.Errorf("RESULT.json has no %q", k)
		}
	}
	model := r["model"].(map[string]any)
	if math.Abs(model["intercept"].(float64)-100) > 1e-9 || math.Abs(model["production"].(float64)-5) > 1e-9 {
		t.Errorf("model %v, want intercept 100, production 5", model)
	}
	if r["savings_m3"].(float64) < 44.999 || r["savings_m3"].(float64) > 45.001 || r["meets_guideline14"] != true {
		t.Errorf("savings %v meets %v", r["savings_m3"], r["meets_guideline14"])
	}
}

func TestSavingsCommandRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	rep := filepath.Join(dir, "rep.csv")
	if err := os.WriteFile(rep, []byte("period,intake_m3,production\n2024-01,160,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "result.json")
	f, err := os.CreateTemp(dir, "stderr")
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = f
	code := runSavings([]string{"--baseline", "testdata/savings/base.csv", "--reporting", rep, "--out", out})
	os.Stderr = old
	msg, _ := os.ReadFile(f.Name())
	f.Close()
	if code != 1 || !strings.Contains(string(msg), "line 2, field production: empty") {
		t.Errorf("exit %d, stderr %q", code, msg)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused input wrote RESULT.json")
	}
	if code := runSavings([]string{"--baseline", "testdata/savings/base.csv"}); code != 2 {
		t.Errorf("missing flags: exit %d, want 2", code)
	}
}
