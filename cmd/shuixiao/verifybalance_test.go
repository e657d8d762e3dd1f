package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/efficiency"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/verify"
)

// balanceEnterprise registers enterprise EB through the API: an intake
// whose register wraps, a process unit (registered as domestic, then
// updated), its recirculation loop and a discharge metered by interval
// totals; one meter each. It returns the meters by point.
func balanceEnterprise(t *testing.T, c *apiClient) map[string]*testMeter {
	t.Helper()
	total := meter.Channel{Name: "total_m3", Quantity: "volume", Unit: "m3", Kind: meter.Total, Rollover: 99999.99, Max: 1e9}
	interval, _ := meter.StandardChannel("interval_m3")
	flow, _ := meter.StandardChannel("flow_m3h")
	must(t, c.post("/api/v1/parks", meter.Park{ID: "PKB", Name: "平衡园区", Region: "430300"}, nil))
	must(t, c.post("/api/v1/enterprises", meter.Enterprise{ID: "EB", Name: "平衡企业", Park: "PKB", Region: "430300", Industry: "3120"}, nil))
	unit := meter.Point{ID: "EB-U", Enterprise: "EB", Name: "轧钢车间", Level: meter.Level2, Stage: meter.StageUse, Parent: "EB-I",
		Purpose: meter.PurposeDomestic, Channels: []meter.Channel{total, flow}}
	for _, p := range []meter.Point{
		{ID: "EB-I", Enterprise: "EB", Name: "地下水取水", Level: meter.Level1, Stage: meter.StageIntake, Source: meter.SourceGround, Channels: []meter.Channel{total, flow}},
		unit,
		{ID: "EB-C", Enterprise: "EB", Name: "循环水", Level: meter.Level2, Stage: meter.StageRecirculation, Parent: "EB-U", Channels: []meter.Channel{total}},
		{ID: "EB-D", Enterprise: "EB", Name: "总排口", Level: meter.Level1, Stage: meter.StageDischarge, Channels: []meter.Channel{interval}},
	} {
		must(t, c.post("/api/v1/points", p, nil))
	}
	unit.Purpose = meter.PurposeProcess
	if _, err := c.do("PUT", "/api/v1/points/EB-U", unit, nil); err != nil {
		t.Fatal(err)
	}
	meters := map[string]*testMeter{}
	for _, pt := range []string{"EB-I", "EB-U", "EB-C", "EB-D"} {
		m := newMeter(t, "M"+pt, pt)
		must(t, c.post("/api/v1/meters", map[string]any{"id": m.id, "point": m.point, "key": m.vkey, "interval_s": 900}, nil))
		meters[pt] = m
	}
	return meters
}

// feedBalance posts 15-min readings of EB's meters from 28 February 23:00
// to 3 March 01:00 (Asia/Shanghai) over HTTP: the intake register wraps,
// the unit's meter is silent from 10:00 to 14:00 on 2 March, the
// recirculation meter stops at 18:00 that day.
func feedBalance(t *testing.T, c *apiClient, meters map[string]*testMeter) int {
	t.Helper()
	start := time.Date(2026, 2, 28, 23, 0, 0, 0, production.Zone)
	gapFrom, gapTo := time.Date(2026, 3, 2, 10, 0, 0, 0, production.Zone), time.Date(2026, 3, 2, 14, 0, 0, 0, production.Zone)
	stop := time.Date(2026, 3, 2, 18, 0, 0, 0, production.Zone)
	n := 0
	for _, pt := range []string{"EB-I", "EB-U", "EB-C", "EB-D"} {
		m := meters[pt]
		var notes []string
		for k := 0; k <= 50*4; k++ {
			at := start.Add(time.Duration(k) * 15 * time.Minute)
			var vals []reading.Value
			switch pt {
			case "EB-I":
				vals = []reading.Value{{Channel: "total_m3", Value: math.Mod(99700+2.5*float64(k), 100000)}, {Channel: "flow_m3h", Value: 10}}
			case "EB-U":
				if at.After(gapFrom) && at.Before(gapTo) {
					continue
				}
				vals = []reading.Value{{Channel: "total_m3", Value: 300 + 1.75*float64(k)}, {Channel: "flow_m3h", Value: 7}}
			case "EB-C":
				if at.After(stop) {
					continue
				}
				vals = []reading.Value{{Channel: "total_m3", Value: 5000 + 12*float64(k) + float64(k%3)}}
			case "EB-D":
				vals = []reading.Value{{Channel: "interval_m3", Value: 0.5 + 0.01*float64(k%4)}}
			}
			msg := m.nextWith(t, 0, func(r *reading.Reading) { r.Time, r.Values = at, vals })
			notes = append(notes, string(msg))
		}
		var res struct {
			Results []struct {
				Index *uint64 `json:"index"`
				Error string  `json:"error"`
			} `json:"results"`
		}
		must(t, c.post("/api/v1/ingest", map[string]any{"readings": notes}, &res))
		for i, r := range res.Results {
			if r.Index == nil {
				t.Fatalf("%s reading %d refused: %s", pt, i, r.Error)
			}
		}
		n += len(notes)
	}
	return n
}

// servedBalance is what the platform serves for EB from 1 to 2 March
// (GET /api/v1/enterprises/EB/balance, both days included), raw.
func servedBalanceOf(t *testing.T, c *apiClient) []byte {
	t.Helper()
	var raw json.RawMessage
	must(t, c.get("/api/v1/enterprises/EB/balance?from=2026-03-01&to=2026-03-02", &raw))
	return raw
}

// declareProduction reports EB's output and value added over the period
// (declared records, not on the ledger).
func declareProduction(t *testing.T, c *apiClient) {
	t.Helper()
	must(t, c.post("/api/v1/production", []map[string]any{
		{"enterprise": "EB", "kind": "output", "product": "粗钢", "quantity": 120, "unit": "t", "from": "2026-03-01", "to": "2026-03-02"},
		{"enterprise": "EB", "kind": "value_added", "quantity": 42.5, "unit": "10k CNY", "from": "2026-03-01", "to": "2026-03-02"},
	}, nil))
}

// waitCheckpoint waits until the ledger directory's checkpoint covers the
// whole log.
func waitCheckpoint(t *testing.T, s *server, dir string) {
	t.Helper()
	ctx := context.Background()
	size, err := s.ledger.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	logKey, _ := note.NewVerifier(s.ledger.VerifierKey())
	f, _ := verify.NewFetcher(dir, nil)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		raw, err := f.ReadCheckpoint(ctx)
		if err == nil {
			if cp, err := verify.OpenCheckpoint(raw, logKey, nil, time.Now()); err == nil && cp.Size >= size {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of size %d", size)
		}
	}
}

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestVerifyBalanceAgreesWithTheServedBalance(t *testing.T) {
	dir := t.TempDir()
	s := startTestServer(t, dir)
	admin := s.client(s.token)
	meters := balanceEnterprise(t, admin)
	n := feedBalance(t, admin, meters)
	ledgerDir := filepath.Join(dir, "ledger")
	keyFile := filepath.Join(ledgerDir, "log.vkey")
	args := func(loc, served string, extra ...string) []string {
		a := []string{"balance", loc, "--log-key", keyFile, "--enterprise", "EB", "--from", "2026-03-01", "--to", "2026-03-02"}
		if served != "" {
			a = append(a, "--served", served)
		}
		return append(a, extra...)
	}
	declareProduction(t, admin)
	tmp := t.TempDir()
	served := writeFile(t, filepath.Join(tmp, "served.json"), servedBalanceOf(t, admin))
	waitCheckpoint(t, s, ledgerDir)

	// From the ledger directory, before the store compacts the readings.
	code, out, errOut := runVerifyCmd(t, args(ledgerDir, served)...)
	if code != 0 || strings.Contains(out, "✗") {
		t.Fatalf("verify balance: exit %d\n%s\n%s", code, out, errOut)
	}
	t.Logf("verify balance:\n%s", out)
	for _, want := range []string{"intake_m3", "reuse_rate", "products.粗钢.intake_per_unit", "units[EB-U].in_m3", "declared data, not on the ledger",
		"5 point entries", "EB-C", "recomputed over the first"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var js struct {
		Readings int                `json:"readings"`
		Coverage map[string]float64 `json:"coverage"`
		Volumes  map[string]float64 `json:"volumes_m3"`
		Differ   []string           `json:"differ"`
	}
	code, out, errOut = runVerifyCmd(t, args(ledgerDir, served, "--json")...)
	if err := json.Unmarshal([]byte(out), &js); code != 0 || err != nil {
		t.Fatalf("--json: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}
	// 2 days of 15-min readings; the unit's silence is bridged (coverage 1),
	// the recirculation meter's end is not.
	if js.Readings < 4*2*96-40 || js.Readings > n || js.Coverage["EB-U"] != 1 || math.Abs(js.Coverage["EB-C"]-42.0/48) > 1e-12 ||
		math.Abs(js.Volumes["EB-I"]-2*96*2.5) > 1e-6 || len(js.Differ) != 0 {
		t.Fatalf("recomputed: %+v", js)
	}

	// A late reading of the period arrives after the balance was served:
	// the store's figures change, and the served ones still agree with the
	// ledger they were read from (the entries below its "ledger.size").
	late := meters["EB-C"].nextWith(t, 0, func(r *reading.Reading) {
		r.Time, r.Values = time.Date(2026, 3, 2, 20, 0, 0, 0, production.Zone), []reading.Value{{Channel: "total_m3", Value: 9000}}
	})
	must(t, admin.post("/api/v1/ingest", map[string]any{"readings": []string{string(late)}}, nil))
	waitCheckpoint(t, s, ledgerDir)
	code, out, errOut = runVerifyCmd(t, args(ledgerDir, served)...)
	if code != 0 {
		t.Fatalf("verify balance after a late reading: exit %d\n%s\n%s", code, out, errOut)
	}
	// Without the ledger size it was read at, the late reading counts and
	// the recirculation figures differ.
	var unsized map[string]any
	raw, _ := os.ReadFile(served)
	must(t, json.Unmarshal(raw, &unsized))
	delete(unsized, "ledger")
	b, _ := json.Marshal(unsized)
	code, out, errOut = runVerifyCmd(t, args(ledgerDir, writeFile(t, filepath.Join(tmp, "unsized.json"), b))...)
	if code != 1 || !strings.Contains(errOut, "recirculated_m3") || !strings.Contains(errOut, "volumes.EB-C") {
		t.Fatalf("unsized served balance after a late reading: exit %d\n%s\n%s", code, out, errOut)
	}

	// Over HTTP with the token, the served balance fetched from the route.
	code, out, errOut = runVerifyCmd(t, args(s.URL()+"/ledger/", "", "--token", s.token)...)
	if code != 0 {
		t.Fatalf("verify balance over HTTP: exit %d\n%s\n%s", code, out, errOut)
	}
	// After compaction the store answers from its hourly rollups, and
	// still agrees with the ledger (the route's own function, uncached).
	ctx := context.Background()
	if err := s.store.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := efficiency.EnterpriseBalance(ctx, s.store, "EB", time.Date(2026, 3, 1, 0, 0, 0, 0, production.Zone), time.Date(2026, 3, 3, 0, 0, 0, 0, production.Zone))
	if err != nil {
		t.Fatal(err)
	}
	b, err = json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if v := res.Volumes["EB-C"]; v <= js.Volumes["EB-C"] || res.PointCoverage["EB-C"] <= js.Coverage["EB-C"] {
		t.Fatalf("the late reading did not change the store's figures: %v m³, coverage %v", v, res.PointCoverage["EB-C"])
	}
	code, out, errOut = runVerifyCmd(t, args(ledgerDir, writeFile(t, filepath.Join(tmp, "compacted.json"), b))...)
	if code != 0 {
		t.Fatalf("verify balance after compaction: exit %d\n%s\n%s", code, out, errOut)
	}

	// A served figure that differs is named, and the exit status is 1.
	var doc map[string]any
	must(t, json.Unmarshal(raw, &doc))
	doc["reuse_rate"] = doc["reuse_rate"].(float64) * 1.001
	b, _ = json.Marshal(doc)
	code, out, errOut = runVerifyCmd(t, args(ledgerDir, writeFile(t, filepath.Join(tmp, "changed.json"), b))...)
	if code != 1 || !strings.Contains(errOut, "reuse_rate") || strings.Contains(errOut, "intake_m3") || !strings.Contains(out, "✗") {
		t.Fatalf("changed reuse rate: exit %d\n%s\n%s", code, out, errOut)
	}

	// One byte of an entry bundle changed in a copy of the ledger: the log
	// check fails, and so does verify balance.
	tampered := filepath.Join(tmp, "ledger")
	copyDir(t, ledgerDir, tampered)
	changed := false
	err = filepath.WalkDir(tampered, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || changed || !strings.Contains(filepath.ToSlash(p), "/tile/entries/") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if i := strings.Index(string(data), "total_m3 99"); i >= 0 {
			data[i+len("total_m3 99")]++
			changed = true
			return os.WriteFile(p, data, 0o644)
		}
		return nil
	})
	if err != nil || !changed {
		t.Fatalf("tamper: %v, changed %v", err, changed)
	}
	code, out, errOut = runVerifyCmd(t, args(tampered, served)...)
	if code != 1 || !strings.Contains(errOut, "LEDGER AUDIT FAILED") || !strings.Contains(errOut, "root-mismatch") {
		t.Fatalf("tampered ledger: exit %d\n%s\n%s", code, out, errOut)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // a running ledger's transient state file, gone meanwhile
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPointsMigrateOntoTheLedger starts a server on a data directory whose
// store holds a point with no ledger entry (registered by an older build):
// the point is put on the ledger once, and not again on the next start.
func TestPointsMigrateOntoTheLedger(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	start := func() (*server, func()) {
		s, err := openServer(ctx, serverConfig{Data: dir, HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		var once sync.Once
		stop := func() { once.Do(func() { s.Close(ctx) }) }
		t.Cleanup(stop)
		return s, stop
	}
	s, stop := start()
	balanceEnterprise(t, s.client(s.token))
	old := meter.Point{ID: "EB-OLD", Enterprise: "EB", Name: "旧计量点", Level: meter.Level2, Stage: meter.StageUse, Parent: "EB-I",
		Channels: []meter.Channel{{Name: "total_m3", Quantity: "volume", Unit: "m3", Kind: meter.Total, Max: 1e9}}}
	must(t, s.store.CreatePoint(ctx, old))
	must(t, os.Remove(filepath.Join(dir, pointsMigratedFile)))
	stop()
	for restart := 1; restart <= 2; restart++ {
		s, stop = start()
		waitCheckpoint(t, s, filepath.Join(dir, "ledger"))
		stop()
		rep, err := verify.Audit(ctx, mustFetcher(t, filepath.Join(dir, "ledger")), verify.AuditOptions{LogKey: mustLogKey(t, dir)})
		if err != nil || rep.Failed(false) {
			t.Fatalf("audit: %v %+v", err, rep)
		}
		if rep.PointEntries != 6 { // 4 created, 1 update, 1 migrated
			t.Fatalf("start %d: %d point entries, want 6", restart, rep.PointEntries)
		}
		if restart == 1 {
			must(t, os.Remove(filepath.Join(dir, pointsMigratedFile))) // the scan runs again and adds nothing
		}
	}
}

func mustFetcher(t *testing.T, dir string) verify.Fetcher {
	t.Helper()
	f, err := verify.NewFetcher(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func mustLogKey(t *testing.T, dataDir string) note.Verifier {
	t.Helper()
	vkey, err := readVerifierKey(filepath.Join(dataDir, "ledger", "log.vkey"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
