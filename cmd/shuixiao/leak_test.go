package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/shuixiao/shuixiao/internal/testfiles"
)

func TestLeakScoreCommand(t *testing.T) {
	bd := func(parts ...string) string {
		return testfiles.Path(t, append([]string{"leak", "battledim"}, parts...)...)
	}
	tests := []struct{ submission, last string }{
		{"PERFECT_TEAM.txt", "TOTAL 523153.82 TP 23 FP 0 FN 0"},
		{"test_team.txt", "TOTAL 523153.82 TP 23 FP 0 FN 0"},
		{"test_team_multiple.txt", "TOTAL 9547.81 TP 1 FP 1 FN 22"},
	}
	for _, tc := range tests {
		var out, errOut bytes.Buffer
		// Positional argument first, flags after it.
		code := runLeakScore([]string{bd("scoring_fixtures", tc.submission),
			"--inp", testfiles.Path(t, "networks", "L-TOWN.inp"),
			"--info", bd("battledim_2019_leak_info.csv"),
			"--outflow", bd("battledim_2019_leak_outflow_m3h.csv.gz")}, &out, &errOut)
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if code != 0 || lines[len(lines)-1] != tc.last {
			t.Errorf("%s: exit %d, last line %q, want %q (stderr %s)", tc.submission, code, lines[len(lines)-1], tc.last, errOut.String())
		}
	}
	var out, errOut bytes.Buffer
	if code := runLeakScore([]string{"missing.txt", "--inp", "x", "--info", "y", "--outflow", "z"}, &out, &errOut); code == 0 {
		t.Error("missing files accepted")
	}
}

func TestLeakDetectCommand(t *testing.T) {
	inp := testfiles.Path(t, "networks", "L-TOWN.inp")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("t_s,P_n1,Q_p227\n0,1,2\n300,1,2\n300,1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	unknown := filepath.Join(dir, "unknown.csv")
	if err := os.WriteFile(unknown, []byte("t_s,P_n1,P_nowhere\n0,1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, want string }{
		{bad, "line 4: duplicate time"},
		{unknown, "P_nowhere"},
	} {
		var out, errOut bytes.Buffer
		code := runLeakDetect([]string{"--inp", inp, "--scada", tc.file, "--out", filepath.Join(dir, "a.csv")}, &out, &errOut)
		if code != 1 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%s: exit %d, stderr %q, want %q", tc.file, code, errOut.String(), tc.want)
		}
	}
	var out, errOut bytes.Buffer
	if code := runLeakDetect([]string{"--inp", inp}, &out, &errOut); code != 2 {
		t.Errorf("missing flags: exit %d", code)
	}
	if leakRaceEnabled {
		return
	}
	// A full run: the synthetic p827 leak, calibrated on the leak-free run.
	alarms := filepath.Join(dir, "alarms.csv")
	synth := func(name string) string { return testfiles.Path(t, "leak", "synthetic_ltown", name) }
	code := runLeakDetect([]string{"--inp", inp, "--scada", synth("leak_p827.csv"), "--calibrate", synth("baseline.csv"), "--out", alarms}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	data, err := os.ReadFile(alarms)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) < 2 || lines[0] != "alarm_t_s,rank,link,node,est_flow_m3h" {
		t.Fatalf("alarms file:\n%s", data)
	}
	f := strings.Split(lines[1], ",")
	if len(f) != 5 || f[1] != "1" {
		t.Fatalf("first alarm row %q", lines[1])
	}
	if at, err := strconv.ParseInt(f[0], 10, 64); err != nil || at < 108000 || at > 108000+3600 {
		t.Errorf("alarm at %q, leak began at 108000", f[0])
	}
}
