package sim

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/logbuf"
	"github.com/shuixiao/shuixiao/meter"
)

func runSim(t *testing.T, f *fakePlatform, cfg Config) *Sim {
	t.Helper()
	cfg.MQTT, cfg.API, cfg.Token = f.addr, f.http.URL, f.token
	if cfg.Log == nil {
		cfg.Log = &logbuf.Buffer{}
	}
	cfg.StatsEvery = -1
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); err != nil {
		t.Fatalf("run: %v\n%s", err, cfg.Log)
	}
	return s
}

// TestSimAgainstPlatform runs a small province with every injection that
// needs no ledger files against the fake platform and checks what each
// produces on the server side.
func TestSimAgainstPlatform(t *testing.T) {
	f := newFakePlatform(t)
	acklog := &logbuf.Buffer{}
	logs := &logbuf.Buffer{}
	s := runSim(t, f, Config{Enterprises: 3, Rate: 4, Duration: 7 * time.Second, Seed: 11,
		Inject:      []string{"offline", "reset", "replace", "leak", "replay", "forged-signature", "skew"},
		InjectAfter: 2 * time.Second, InjectEvery: 150 * time.Millisecond,
		AckLog: acklog, Log: logs, StateDir: t.TempDir()})
	t.Log(logs.String())
	reports := map[string]InjectionReport{}
	for _, r := range s.InjectionReports() {
		reports[r.Kind] = r
	}
	if len(reports) != 7 {
		t.Fatalf("%d injections applied: %+v", len(reports), reports)
	}
	f.mu.Lock()
	nParks, nEnt, nPoints := len(f.parks), len(f.enterprises), len(f.points)
	rejections := map[string]int{}
	for k, v := range f.rejections {
		rejections[k] = v
	}
	f.mu.Unlock()
	c := s.Province().Count()
	if nParks != c.Parks || nEnt != 3 || nPoints != c.Points {
		t.Errorf("registered %d parks %d enterprises %d points, province has %+v", nParks, nEnt, nPoints, c)
	}
	// Forged readings: both rejected for their signature; replay: one
	// rejected (old seq), the byte-identical one a duplicate.
	if rejections["bad-signature"] != 2 || rejections["replay"] != 1 || len(rejections) != 2 {
		t.Errorf("rejections %v, want bad-signature 2 and replay 1", rejections)
	}
	st := s.Stats()
	if st.Unexpected != 0 || st.Rejected != 3 || st.Duplicates < 1 {
		t.Errorf("stats %+v", st)
	}
	// Every stored reading: seq grows by one, prev chains, flags only
	// where an injection put them.
	skewMeter := reports["skew"].Meter
	for _, e := range s.Province().Enterprises {
		for _, pt := range e.Points {
			rs := f.meterReadings(pt.Meter.ID)
			if want := map[bool]int{true: 1, false: 8}[pt.Meter.ID == reports["offline"].Meter]; len(rs) < want {
				t.Errorf("%s: only %d readings stored", pt.Meter.ID, len(rs))
				continue
			}
			for i, r := range rs {
				if r.r.Seq != uint64(i+1) {
					t.Errorf("%s: reading %d has seq %d", pt.Meter.ID, i, r.r.Seq)
					break
				}
				for _, fl := range r.flags {
					if fl != "skew" || pt.Meter.ID != skewMeter {
						t.Errorf("%s seq %d flagged %s", pt.Meter.ID, r.r.Seq, fl)
					}
				}
			}
		}
	}
	last := func(id string) fakeReading {
		rs := f.meterReadings(id)
		return rs[len(rs)-1]
	}
	if rs := f.meterReadings(skewMeter); !contains(rs[len(rs)-1].flags, "skew") || rs[len(rs)-1].r.Time.Sub(time.Now()) < 25*time.Minute {
		t.Errorf("skewed meter %s: last reading %v flags %v", skewMeter, rs[len(rs)-1].r.Time, rs[len(rs)-1].flags)
	}
	off := reports["offline"]
	if lr := last(off.Meter); lr.r.Time.After(off.Time.Add(300 * time.Millisecond)) {
		t.Errorf("offline meter %s published at %v after going offline at %v", off.Meter, lr.r.Time, off.Time)
	}
	// Reset: the register restarts near zero. A step that took its time
	// just before the reset may read the register just after it (on a
	// loaded machine it did), so "before" is the highest register stamped
	// before the reset, not the last.
	rs := f.meterReadings(reports["reset"].Meter)
	before, after := 0.0, last(reports["reset"].Meter).r.Values[0].Value
	for _, r := range rs {
		if r.r.Time.Before(reports["reset"].Time) {
			before = math.Max(before, r.r.Values[0].Value)
		}
	}
	if before < 1000 || after > before/100 {
		t.Errorf("reset meter: register %.3f before, %.3f after", before, after)
	}
	// Replace: the old meter is revoked, the new one reports from ~0.
	rep := reports["replace"]
	newID := rep.Meter + "-R1"
	f.mu.Lock()
	oldRevoked := f.meters[rep.Meter] != nil && f.meters[rep.Meter].revoked
	newPoint := ""
	if m := f.meters[newID]; m != nil {
		newPoint = m.reg.Point
	}
	f.mu.Unlock()
	oldPoint := ""
	for _, e := range s.Province().Enterprises {
		for _, pt := range e.Points {
			if pt.Meter.ID == rep.Meter {
				oldPoint = pt.ID
			}
		}
	}
	if nr := f.meterReadings(newID); !oldRevoked || newPoint != oldPoint || len(nr) < 3 || nr[0].r.Values[0].Value > 50 || nr[0].r.Point != oldPoint {
		t.Errorf("replacement: old revoked %v, new meter on %q (want %q), %d readings", oldRevoked, newPoint, oldPoint, len(nr))
	}
	// Leak: the intake meter rises against Σ level-2 of its header.
	checkLeak(t, s, f, reports["leak"])
	// Ack log: one line per admitted reading with the platform's index.
	f.mu.Lock()
	defer f.mu.Unlock()
	indexOf := map[string]int{}
	admitted := 0
	for id, m := range f.meters {
		for _, r := range m.readings {
			indexOf[fmt.Sprintf("%s %d", id, r.r.Seq)] = r.index
			admitted++
		}
	}
	lines := 0
	sc := bufio.NewScanner(strings.NewReader(acklog.String()))
	for sc.Scan() {
		var id string
		var seq, idx int
		if _, err := fmt.Sscanf(sc.Text(), "%s %d %d", &id, &seq, &idx); err != nil {
			t.Fatalf("ack log line %q: %v", sc.Text(), err)
		}
		if want, ok := indexOf[fmt.Sprintf("%s %d", id, seq)]; !ok || want != idx {
			t.Errorf("ack log %q: platform index %d (%v)", sc.Text(), want, ok)
		}
		lines++
	}
	// Receipts are QoS 0 and the run ends with readings in flight, so a
	// few may be missing; none may be wrong or duplicated.
	if lines < admitted*9/10 || lines > admitted {
		t.Errorf("ack log has %d lines for %d admitted readings", lines, admitted)
	}
}

func contains(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

// checkLeak compares the intake meter with Σ of its level-2 children
// before and after the leak injection.
func checkLeak(t *testing.T, s *Sim, f *fakePlatform, rep InjectionReport) {
	t.Helper()
	e := s.Province().Enterprise(rep.Enterprise)
	intake := ""
	for _, pt := range e.Points {
		if pt.Meter.ID == rep.Meter {
			intake = pt.ID
		}
	}
	var children []string
	for _, pt := range e.Points {
		if pt.Parent == intake && pt.Level == meter.Level2 {
			children = append(children, pt.Meter.ID)
		}
	}
	if len(children) == 0 {
		t.Fatalf("leak: no level-2 children of %s", rep.Meter)
	}
	ratio := func(afterLeak bool) float64 {
		var in, sum float64
		for _, r := range f.meterReadings(rep.Meter) {
			if r.r.Time.After(rep.Time) == afterLeak {
				in += r.r.Values[1].Value
			}
		}
		for _, c := range children {
			for _, r := range f.meterReadings(c) {
				if r.r.Time.After(rep.Time) == afterLeak {
					sum += r.r.Values[1].Value
				}
			}
		}
		return in / sum
	}
	b, a := ratio(false), ratio(true)
	t.Logf("leak on %s: intake/Σ level 2 = %.4f before, %.4f after", rep.Meter, b, a)
	if b < 0.99 || b > 1.05 {
		t.Errorf("leak: before the leak intake/Σ level 2 = %.4f, want 1-1.05 (background leak and meter error)", b)
	}
	if r := a / b; r < 1.08 || r > 1.16 {
		t.Errorf("leak: intake/Σ level 2 rose by a factor %.4f, want ≈ 1.12", r)
	}
}

// TestSimRestartContinues runs the simulator twice on one state directory:
// the second run continues every meter's chain and register.
func TestSimRestartContinues(t *testing.T) {
	f := newFakePlatform(t)
	dir := t.TempDir()
	for run := 0; run < 2; run++ {
		runSim(t, f, Config{Enterprises: 1, Rate: 5, Duration: 1500 * time.Millisecond, Seed: 5, StateDir: dir})
	}
	checkContinuity(t, f, 5, false)
}

// TestSimStatelessRestart: without a state directory the second run learns
// the chain position from the server and continues after it; only its
// first reading per meter is a gap.
func TestSimStatelessRestart(t *testing.T) {
	f := newFakePlatform(t)
	for run := 0; run < 2; run++ {
		runSim(t, f, Config{Enterprises: 1, Rate: 5, Duration: 1500 * time.Millisecond, Seed: 5})
	}
	checkContinuity(t, f, 5, true)
}

func checkContinuity(t *testing.T, f *fakePlatform, seed int64, gapAllowed bool) {
	t.Helper()
	prov, _ := Generate(seed, 1)
	f.mu.Lock()
	nrej := len(f.rejected)
	f.mu.Unlock()
	if nrej != 0 {
		t.Errorf("%d rejections", nrej)
	}
	for _, pt := range prov.Enterprises[0].Points {
		rs := f.meterReadings(pt.Meter.ID)
		if len(rs) < 8 {
			t.Fatalf("%s: %d readings over two runs", pt.Meter.ID, len(rs))
		}
		gaps := 0
		for i, r := range rs {
			if r.r.Seq != uint64(i+1) {
				t.Fatalf("%s: reading %d has seq %d", pt.Meter.ID, i, r.r.Seq)
			}
			if contains(r.flags, "gap") {
				gaps++
			}
			if i > 0 && r.r.Values[0].Value < rs[i-1].r.Values[0].Value {
				t.Errorf("%s: register fell from %v to %v at seq %d", pt.Meter.ID, rs[i-1].r.Values[0].Value, r.r.Values[0].Value, r.r.Seq)
			}
		}
		if want := map[bool]int{false: 0, true: 1}[gapAllowed]; gaps != want {
			t.Errorf("%s: %d gaps, want %d", pt.Meter.ID, gaps, want)
		}
	}
}

func TestNewRejects(t *testing.T) {
	base := Config{MQTT: "127.0.0.1:1", API: "http://127.0.0.1:1"}
	for name, mod := range map[string]func(c *Config){
		"no mqtt":        func(c *Config) { c.MQTT = "" },
		"bad injection":  func(c *Config) { c.Inject = []string{"flood"} },
		"tamper no data": func(c *Config) { c.Inject = []string{"tamper"} },
		"rate":           func(c *Config) { c.Rate = -1 },
		"enterprises":    func(c *Config) { c.Enterprises = 5000 },
	} {
		c := base
		mod(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if got, err := ParseInjections([]string{"leak,replay", " skew "}); err != nil || strings.Join(got, " ") != "leak replay skew" {
		t.Errorf("ParseInjections: %v %v", got, err)
	}
}

// TestStatsDuringRun: Stats may be called while the run goes on (a test
// waiting for readings to be admitted, a progress line) — from the start,
// while the meters' sessions are being opened. Under -race this failed
// while connect set a device's session without the lock Stats reads it
// under.
func TestStatsDuringRun(t *testing.T) {
	f := newFakePlatform(t)
	logs := &logbuf.Buffer{}
	s, err := New(Config{MQTT: f.addr, API: f.http.URL, Token: f.token, Enterprises: 2, Rate: 4, Seed: 13,
		Log: logs, StatsEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(time.Millisecond) {
		if st := s.Stats(); st.Meters > 0 && st.Admitted >= uint64(st.Meters) {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("stats %+v after 60 s\n%s", s.Stats(), logs)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, logs)
	}
	if st := s.Stats(); st.Unexpected != 0 {
		t.Errorf("stats after the run %+v", st)
	}
}
