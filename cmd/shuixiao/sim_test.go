package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/sim"
)

// TestSimAgainstServer runs the simulator against the real server in this
// process: every meter's readings arrive in order with ledger indices that
// match the ack log, forged and replayed readings are refused with their
// reasons, and a digit the simulator changes in the ledger files is reported
// by `shuixiao verify log`.
func TestSimAgainstServer(t *testing.T) {
	t.Parallel() // it mostly waits for the simulator's timers
	dir := t.TempDir()
	srv := startTestServer(t, dir)
	ackPath, logPath := filepath.Join(t.TempDir(), "ack.log"), filepath.Join(t.TempDir(), "sim.log")
	acklog, err := os.Create(ackPath)
	if err != nil {
		t.Fatal(err)
	}
	defer acklog.Close()
	logs, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	// The simulator runs until what is checked below has happened — the
	// three injections, their answers, and 24 acknowledged readings of every
	// meter — not for a fixed time: registering the province alone takes
	// most of 10 s on a loaded machine.
	s, err := sim.New(sim.Config{MQTT: srv.broker.Addr(), API: srv.URL(), Token: srv.token, DataDir: dir,
		Enterprises: 2, Rate: 4, Seed: 3,
		Inject: []string{"replay", "forged-signature", "tamper"}, InjectAfter: 3 * time.Second, InjectEvery: 500 * time.Millisecond,
		AckLog: acklog, Log: logs, StatsEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	ran := make(chan error, 1)
	go func() { ran <- s.Run(runCtx) }()
	for end := time.Now().Add(120 * time.Second); !simDone(s, ackPath, 24); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(end) {
			break // the checks below say what is missing
		}
	}
	stop()
	err = <-ran
	logText, _ := os.ReadFile(logPath)
	t.Log(string(logText))
	if err != nil {
		t.Fatalf("sim: %v", err)
	}
	reports := map[string]sim.InjectionReport{}
	for _, r := range s.InjectionReports() {
		reports[r.Kind] = r
	}
	if len(reports) != 3 {
		t.Fatalf("injections applied: %+v", reports)
	}
	st := s.Stats()
	if st.Unexpected != 0 || st.Duplicates < 1 || st.Admitted == 0 {
		t.Errorf("sim stats %+v", st)
	}
	// Readings arrived, in seq order, each with its ledger index.
	api := s.API()
	index := map[string]int64{}
	for _, e := range s.Province().Enterprises {
		for _, pt := range e.Points {
			rs, err := api.Readings(ctx, pt.Meter.ID, time.Time{}, time.Time{}, 0, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) < 20 {
				t.Errorf("%s: %d readings stored", pt.Meter.ID, len(rs))
				continue
			}
			for i, r := range rs {
				if r.Seq != uint64(i+1) || r.Meter != pt.Meter.ID {
					t.Errorf("%s: item %d is %s seq %d", pt.Meter.ID, i, r.Meter, r.Seq)
					break
				}
				for _, f := range r.Flags {
					t.Errorf("%s seq %d flagged %s", pt.Meter.ID, r.Seq, f)
				}
				index[fmt.Sprintf("%s %d", r.Meter, r.Seq)] = r.Index
			}
		}
	}
	lines := 0
	ackText, err := os.ReadFile(ackPath)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(ackText))
	for sc.Scan() {
		var id string
		var seq uint64
		var idx int64
		if _, err := fmt.Sscanf(sc.Text(), "%s %d %d", &id, &seq, &idx); err != nil {
			t.Fatalf("ack log line %q: %v", sc.Text(), err)
		}
		if want, ok := index[fmt.Sprintf("%s %d", id, seq)]; !ok || want != idx {
			t.Errorf("ack log %q: the server has index %d (found %v)", sc.Text(), want, ok)
		}
		lines++
	}
	if lines < len(index)*9/10 {
		t.Errorf("ack log has %d lines for %d stored readings", lines, len(index))
	}
	// Forged and replayed readings were refused, with reasons.
	rej, err := api.Rejections(ctx, 50)
	if err != nil {
		t.Fatal(err)
	}
	if rej.ByReason["bad-signature"] < 2 || rej.ByReason["replay"] < 1 {
		t.Errorf("rejections %+v, want ≥ 2 bad-signature and ≥ 1 replay", rej.ByReason)
	}
	seen := map[string]bool{}
	for _, r := range rej.Recent {
		seen[r.Meter+" "+r.Reason] = true
	}
	if !seen[reports["forged-signature"].Meter+" bad-signature"] || !seen[reports["replay"].Meter+" replay"] {
		t.Errorf("recent rejections %+v lack the injected meters %s and %s", rej.Recent, reports["forged-signature"].Meter, reports["replay"].Meter)
	}
	// The tampered reading is reported by the independent verifier.
	tr := reports["tamper"]
	var out, errOut bytes.Buffer
	logDir, key := dir+"/ledger/log", dir+"/ledger/log.vkey"
	code := verifyMain(ctx, []string{"log", logDir, "--log-key", key}, &out, &errOut)
	if code != 1 || !strings.Contains(out.String()+errOut.String(), fmt.Sprint(tr.Index)) || !strings.Contains(out.String()+errOut.String(), tr.Meter) {
		t.Errorf("verify log exit %d, tampered entry %d (%s seq %d):\n%s\n%s", code, tr.Index, tr.Meter, tr.Seq, out.String(), errOut.String())
	}
}

// simDone reports whether TestSimAgainstServer's simulator has applied its
// three injections, had its two forged readings and its replay answered
// (two bad signatures and a replay refused, the byte-identical replay a
// duplicate), and had at least perMeter readings of every meter
// acknowledged in its ack log.
func simDone(s *sim.Sim, ackPath string, perMeter int) bool {
	if st := s.Stats(); len(s.InjectionReports()) < 3 || st.Rejected < 3 || st.Duplicates < 1 {
		return false
	}
	text, err := os.ReadFile(ackPath)
	if err != nil {
		return false
	}
	acked := map[string]int{}
	lines := strings.Split(string(text), "\n")
	for _, l := range lines[:len(lines)-1] { // the last may be half written
		if id, _, ok := strings.Cut(l, " "); ok {
			acked[id]++
		}
	}
	for _, e := range s.Province().Enterprises {
		for _, pt := range e.Points {
			if acked[pt.Meter.ID] < perMeter {
				return false
			}
		}
	}
	return true
}
