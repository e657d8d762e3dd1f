package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestIngestLayout: --collectors splits the meters evenly behind that many
// data collectors, or is refused.
func TestIngestLayout(t *testing.T) {
	for _, c := range []struct {
		meters, collectors int
		want               benchLayout
		bad                bool
	}{
		{meters: 1000, collectors: 0, want: benchLayout{}},
		{meters: 1000, collectors: 10, want: benchLayout{Enterprises: 10, Points: 100, Collectors: true}},
		{meters: 7, collectors: 7, want: benchLayout{Enterprises: 7, Points: 1, Collectors: true}},
		{meters: 1000, collectors: 3, bad: true},
		{meters: 10, collectors: 20, bad: true},
		{meters: 10, collectors: -1, bad: true},
		{meters: 0, collectors: 0, bad: true},
	} {
		got, err := ingestLayout(c.meters, c.collectors)
		if (err != nil) != c.bad {
			t.Errorf("ingestLayout(%d, %d): error %v, want error %v", c.meters, c.collectors, err, c.bad)
			continue
		}
		if !c.bad && (got.Enterprises != c.want.Enterprises || got.Points != c.want.Points || got.Collectors != c.want.Collectors) {
			t.Errorf("ingestLayout(%d, %d) = %+v, want %+v", c.meters, c.collectors, got, c.want)
		}
	}
}

// TestBenchIngestCollectors runs `shuixiao bench ingest --collectors` at a
// small size in bus mode (embedded NATS, SQLite) and reads its JSON line:
// the load went over one MQTT session per collector, every reading sent was
// acknowledged and is on the ledger, and the CPU per reading of each
// process was measured.
func TestBenchIngestCollectors(t *testing.T) {
	if testing.Short() {
		t.Skip("about 20 s: a bus-mode sequencer, an edge and 4 MQTT sessions")
	}
	var res struct {
		Meters     int     `json:"meters"`
		Sessions   int     `json:"mqtt_sessions"`
		Acked      int64   `json:"acked"`
		Failed     int64   `json:"failed"`
		P99AckMs   float64 `json:"p99_ack_ms"`
		Consistent bool    `json:"ledger_holds_every_ack"`
		Edges      int     `json:"edges"`
		EdgeUs     float64 `json:"edge_us_per_reading"`
		ClientUs   float64 `json:"client_us_per_reading"`
		SeqUs      float64 `json:"sequencer_us_per_reading"`
		Procs      int     `json:"gomaxprocs"`
	}
	runBenchCommand(t, &res, "ingest", "--meters", "40", "--collectors", "4", "--rate", "400",
		"--duration", "3s", "--nats", "embedded", "--gomaxprocs", "1")
	switch {
	case res.Meters != 40 || res.Sessions != 4 || res.Edges != 1 || res.Procs != 1:
		t.Fatalf("layout %+v", res)
	case res.Acked < 600 || res.Failed != 0 || res.P99AckMs <= 0 || !res.Consistent:
		t.Fatalf("load %+v", res) // 400/s for 3 s offered
	case res.EdgeUs <= 0 || res.ClientUs <= 0 || res.SeqUs <= 0:
		t.Fatalf("CPU per reading not measured: %+v", res)
	}
}

// runBenchCommand runs `shuixiao bench ARGS…` in a child process and
// decodes its last output line, the result, into res.
func runBenchCommand(t *testing.T, res any, args ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"bench"}, args...)...)
	cmd.Env = append(os.Environ(), "SHUIXIAO_TEST_CHILD=main")
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	if err := cmd.Run(); err != nil {
		t.Fatalf("bench %s: %v\n%s\n%s", args[0], err, out.String(), errs.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), res); err != nil {
		t.Fatalf("last line is not the result: %v\n%s", err, out.String())
	}
	t.Logf("%s", lines[len(lines)-1])
}
