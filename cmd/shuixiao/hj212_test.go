package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shuixiao/shuixiao/internal/testfiles"
)

// TestHJ212Decode runs `shuixiao hj212 decode` on the sample packets with a bad CRC, a wrong
// length, garbage and an empty line among them: one object per line, the bad ones ok:false with
// the reason, the good ones with the values beside them in reference/standards.md §5.5.
func TestHJ212Decode(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(string(testfiles.ReadFile(t, "hj212", "packets.txt"))), "\n")
	hourly := strings.TrimRight(lines[4], "\r")
	badCRC := hourly[:len(hourly)-4] + "2641"
	badLen := "##0325" + hourly[6:]
	in := strings.Join([]string{hourly + "\r", badCRC, badLen, "", "garbage", lines[0]}, "\n") + "\n"
	file := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(file, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHJ212DecodeHelper$")
	cmd.Env = append(os.Environ(), "SHUIXIAO_HJ212_DECODE="+file)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v (want 1: some lines failed)\n%s", err, stderr.String())
	}
	var got []map[string]any
	dec := json.NewDecoder(&stdout)
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	if len(got) != 6 {
		t.Fatalf("%d objects for 6 lines", len(got))
	}
	h := got[0]
	if h["ok"] != true || h["cn"] != "2061" || h["mn"] != "010000A8900016F000169DC0" || h["data_time"] != "2024-01-01T08:00:00+08:00" {
		t.Errorf("hourly packet: %v", h)
	}
	vals, _ := h["values"].(map[string]any)
	want := map[string]float64{"w00000-Cou": 63, "w00000-Min": 16.4, "w00000-Avg": 17.5, "w00000-Max": 20.1, "w01018-Cou": 2.526,
		"w01018-Min": 38.2, "w01018-Avg": 40.1, "w01018-Max": 42.5, "w21003-Avg": 1.21, "w01001-Avg": 7.2}
	if fmt.Sprint(vals) != fmt.Sprint(toAny(want)) {
		t.Errorf("values %v, want %v", vals, want)
	}
	for i, reason := range map[int]string{1: "CRC mismatch", 2: "wrong length", 3: "empty line", 4: "does not start with ##"} {
		if got[i]["ok"] != false || !strings.Contains(fmt.Sprint(got[i]["error"]), reason) || got[i]["values"] != nil {
			t.Errorf("line %d: %v, want ok:false for %q", i+1, got[i], reason)
		}
	}
	if got[5]["ok"] != true || got[5]["cn"] != "1062" || fmt.Sprint(got[5]["values"]) != "map[RtdInterval:30]" {
		t.Errorf("decoding went on after the bad lines: %v", got[5])
	}
}

func toAny(m map[string]float64) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestHJ212DecodeHelper is the command run by TestHJ212Decode in a child process.
func TestHJ212DecodeHelper(t *testing.T) {
	file := os.Getenv("SHUIXIAO_HJ212_DECODE")
	if file == "" {
		t.Skip("run by TestHJ212Decode")
	}
	os.Exit(runHJ212([]string{"decode", file}))
}
