package verify

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

var cst = time.FixedZone("CST", 8*3600)

// signed signs note text with the log key.
func (k *testKeys) signed(t testing.TB, text string) []byte {
	t.Helper()
	msg, err := note.Sign(&note.Note{Text: text}, k.logSigner)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// balanceMeter signs readings of one channel of a meter registered on a point.
type balanceMeter struct {
	*testMeter
	point, channel string
}

func (k *testKeys) balanceMeter(t testing.TB, id, enterprise, point, channel string) (*balanceMeter, []byte) {
	t.Helper()
	m := &balanceMeter{testMeter: newTestMeter(t, id), point: point, channel: channel}
	ke := &reading.KeyEntry{Action: reading.ActionRegister, Meter: id, Enterprise: enterprise, Point: point, Key: m.vkey,
		Signed: "meter", Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	return m, k.signed(t, ke.Text())
}

func (m *balanceMeter) read(t testing.TB, at time.Time, v float64) []byte {
	t.Helper()
	m.seq++
	r := &reading.Reading{Meter: m.id, Seq: m.seq, Prev: m.prev, Point: m.point, Time: at,
		Values: []reading.Value{{Channel: m.channel, Value: v}, {Channel: "flow_m3h", Value: 1}}}
	msg, err := reading.Sign(r, m.signer)
	if err != nil {
		t.Fatal(err)
	}
	m.prev = reading.HashOf(msg)
	return msg
}

func (k *testKeys) point(t testing.TB, p meter.Point) []byte {
	t.Helper()
	return k.signed(t, p.LedgerEntry(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)).Text())
}

// balanceLedger is a small enterprise's day on a ledger: an intake whose
// register wraps, a unit whose meter stops at 18:00, a discharge metered
// by interval totals, a recirculation point with no meter, and another
// enterprise's point.
func balanceLedger(t *testing.T) (*testKeys, [][]byte) {
	k := newTestKeys(t, origin, 0)
	total := meter.Channel{Name: "total_m3", Quantity: "volume", Unit: "m3", Kind: meter.Total, Rollover: 99999.99, Max: 1e9}
	interval := meter.Channel{Name: "vol_m3", Quantity: "volume", Unit: "m3", Kind: meter.Interval, Max: 1e6}
	flow := meter.Channel{Name: "flow_m3h", Quantity: "flow", Unit: "m3/h", Kind: meter.Rate, Max: 1e4}
	pi := meter.Point{ID: "PI", Enterprise: "EB", Level: meter.Level1, Stage: meter.StageIntake, Source: meter.SourceGround, Channels: []meter.Channel{total, flow}}
	pu := meter.Point{ID: "PU", Enterprise: "EB", Level: meter.Level2, Stage: meter.StageUse, Parent: "PI", Purpose: meter.PurposeDomestic, Channels: []meter.Channel{total, flow}}
	pd := meter.Point{ID: "PD", Enterprise: "EB", Level: meter.Level1, Stage: meter.StageDischarge, Channels: []meter.Channel{interval, flow}}
	pr := meter.Point{ID: "PR", Enterprise: "EB", Level: meter.Level2, Stage: meter.StageRecirculation, Parent: "PU", Channels: []meter.Channel{total}}
	px := meter.Point{ID: "PX", Enterprise: "EX", Level: meter.Level1, Stage: meter.StageIntake, Source: meter.SourceMunicipal, Channels: []meter.Channel{total}}
	entries := [][]byte{k.point(t, pi), k.point(t, pu), k.point(t, pd), k.point(t, pr), k.point(t, px)}
	mi, e1 := k.balanceMeter(t, "MI", "EB", "PI", "total_m3")
	mu, e2 := k.balanceMeter(t, "MU", "EB", "PU", "total_m3")
	md, e3 := k.balanceMeter(t, "MD", "EB", "PD", "vol_m3")
	mx, e4 := k.balanceMeter(t, "MX", "EX", "PX", "total_m3")
	entries = append(entries, e1, e2, e3, e4)
	// A later version of PU: its purpose is process water.
	pu.Purpose = meter.PurposeProcess
	entries = append(entries, k.point(t, pu))
	start := time.Date(2026, 2, 28, 22, 0, 0, 0, cst)
	for h := 0; h <= 28; h++ {
		at := start.Add(time.Duration(h) * time.Hour)
		// 99990 at 22:00: the register wraps at 100000 at 08:00.
		entries = append(entries, mi.read(t, at, math.Mod(99990+float64(h), 100000)))
		entries = append(entries, mx.read(t, at, 7*float64(h)))
		// Interval totals stamped at the end of each hour: 0.5 m³ an hour;
		// the one stamped at 00:00 on 1 March is the previous day's.
		v := 0.5
		if at.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, cst)) {
			v = 100
		}
		entries = append(entries, md.read(t, at, v))
	}
	// The unit's meter every 30 min from 23:00 to 18:00, 0.5 m³ each.
	for k := 0; k <= 38; k++ {
		entries = append(entries, mu.read(t, time.Date(2026, 2, 28, 23, 0, 0, 0, cst).Add(time.Duration(k)*30*time.Minute), 500+0.5*float64(k)))
	}
	return k, entries
}

func TestBalanceFromTheLedger(t *testing.T) {
	k, entries := balanceLedger(t)
	dir := t.TempDir()
	k.writeTiles(t, dir, entries)
	f, err := NewFetcher(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, cst)
	res, err := Balance(context.Background(), f, BalanceOptions{Audit: AuditOptions{LogKey: k.logKey}, Enterprise: "EB",
		From: from, To: from.AddDate(0, 0, 1), ValueAdded: 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.Audit.Failed(false) || res.Audit.PointEntries != 6 {
		t.Fatalf("audit: %+v", res.Audit)
	}
	want := balance.Volumes{"PI": 24, "PU": 18, "PD": 12}
	if len(res.Volumes) != len(want) {
		t.Fatalf("volumes %v, want %v", res.Volumes, want)
	}
	for id, v := range want {
		if math.Abs(res.Volumes[id]-v) > 1e-9 {
			t.Errorf("%s: %v m³, want %v", id, res.Volumes[id], v)
		}
	}
	for id, c := range map[string]float64{"PI": 1, "PU": 0.75, "PD": 1, "PR": 0} {
		if res.Coverage[id] != c {
			t.Errorf("coverage of %s: %v, want %v", id, res.Coverage[id], c)
		}
	}
	if len(res.Points) != 4 || res.Points[3].ID != "PU" || res.Points[3].Purpose != meter.PurposeProcess {
		t.Fatalf("points %+v: want EB's four, PU in its latest version", res.Points)
	}
	if len(res.Meters) != 3 || res.Meters["MX"] != "" {
		t.Fatalf("meters %v", res.Meters)
	}
	r := res.Report
	if !r.Intake.OK || r.Intake.Value != 24 || !r.IntakePer10kCNY.OK || r.IntakePer10kCNY.Value != 2.4 ||
		len(r.Missing) != 1 || r.Missing[0] != "PR" || r.ReuseRate.OK {
		t.Fatalf("report: intake %+v, per 10k %+v, missing %v, reuse rate %+v", r.Intake, r.IntakePer10kCNY, r.Missing, r.ReuseRate)
	}

	// Over the ledger's first entries only (the ledger a served balance was
	// read from): the unit's last five readings, 16:00 to 18:00, are left out.
	prefix, err := Balance(context.Background(), f, BalanceOptions{Audit: AuditOptions{LogKey: k.logKey}, Enterprise: "EB",
		From: from, To: from.AddDate(0, 0, 1), Below: uint64(len(entries) - 5)})
	if err != nil {
		t.Fatal(err)
	}
	if prefix.Volumes["PU"] != 15.5 || prefix.Coverage["PU"] != 16.0/24 || prefix.Volumes["PI"] != 24 || prefix.Audit.Failed(false) {
		t.Fatalf("below %d: volumes %v, coverage %v", len(entries)-5, prefix.Volumes, prefix.Coverage)
	}
	if size, after, ok := ServedLedgerSize([]byte(`{"intake_m3":1,"ledger":{"size":120,"size_after":121}}`)); !ok || size != 120 || after != 121 {
		t.Fatalf("served ledger size %d %d %v", size, after, ok)
	}
	if _, _, ok := ServedLedgerSize([]byte(`{"intake_m3":1,"ledger":{"size":120,"size_after":100}}`)); ok {
		t.Fatal("a size after below the size before was accepted")
	}

	// The report served as JSON agrees with itself, figure by figure; a
	// changed figure is named.
	served, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := CompareBalance(r, served, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 20 {
		t.Fatalf("only %d figures compared", len(rows))
	}
	for _, row := range rows {
		if !row.Agree {
			t.Errorf("figure %s: %v vs %v", row.Figure, row.Ledger, row.Served)
		}
	}
	changed := strings.Replace(string(served), `"intake_m3":24`, `"intake_m3":24.001`, 1)
	if changed == string(served) {
		t.Fatalf("no intake_m3 in %s", served)
	}
	rows, _ = CompareBalance(r, []byte(changed), 1e-6)
	var differ []string
	for _, row := range rows {
		if !row.Agree {
			differ = append(differ, row.Figure)
		}
	}
	if len(differ) != 1 || differ[0] != "intake_m3" {
		t.Fatalf("differing figures %v, want intake_m3", differ)
	}
	// A period balance's per-point figures: a point the server lacks is named.
	pointRows, err := ComparePoints(res.Volumes, res.Coverage, []byte(`{"intake_m3":24,"volumes":{"PI":24,"PU":18},"point_coverage":{"PI":1,"PU":0.75,"PD":1,"PR":0}}`), 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	differ = nil
	for _, row := range pointRows {
		if !row.Agree {
			differ = append(differ, row.Figure)
		}
	}
	if len(pointRows) != 7 || len(differ) != 1 || differ[0] != "volumes.PD" {
		t.Fatalf("point rows %+v", pointRows)
	}
	d, err := ServedDeclared(served)
	if err != nil || d.ValueAdded != 10 || len(d.Production) != 0 {
		t.Fatalf("declared %+v, %v", d, err)
	}
}

func TestBalanceOnATamperedLedger(t *testing.T) {
	k, entries := balanceLedger(t)
	dir := t.TempDir()
	k.writeTiles(t, dir, entries)
	// One byte of an entry bundle changed: a reading's value.
	bundle := filepath.Join(dir, "tile", "entries", "000.p", strconv.Itoa(len(entries)))
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(data), "total_m3 99995")
	if i < 0 {
		t.Fatal("no reading to tamper with")
	}
	data[i+len("total_m3 9999")] = '8'
	if err := os.WriteFile(bundle, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, _ := NewFetcher(dir, nil)
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, cst)
	res, err := Balance(context.Background(), f, BalanceOptions{Audit: AuditOptions{LogKey: k.logKey}, Enterprise: "EB", From: from, To: from.AddDate(0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[ProblemKind]bool{}
	for _, p := range res.Audit.Problems {
		kinds[p.Kind] = true
	}
	if !res.Audit.Failed(false) || !kinds[ProblemRoot] || !kinds[ProblemSignature] {
		t.Fatalf("tampered ledger: problems %+v", res.Audit.Problems)
	}
	// The forged reading counts for nothing: the intake is that of the
	// genuine readings around it.
	if math.Abs(res.Volumes["PI"]-24) > 1e-9 {
		t.Fatalf("intake %v from a forged reading", res.Volumes["PI"])
	}
}

// FuzzServedBalance feeds arbitrary documents as the served balance: the
// declared figures and the comparison either read them or say why not,
// and a comparison never passes a document that lacks a figure.
func FuzzServedBalance(f *testing.F) {
	pts := []meter.Point{{ID: "PI", Enterprise: "EB", Level: meter.Level1, Stage: meter.StageIntake, Source: meter.SourceGround,
		Channels: []meter.Channel{{Name: "total_m3", Quantity: "volume", Unit: "m3", Kind: meter.Total}}}}
	r := balance.Evaluate(pts, balance.Volumes{"PI": 12.5}, balance.Options{Settings: balance.DefaultSettings(), ValueAdded: 3,
		Production: []balance.Production{{Product: "粗钢", Quantity: 4, Unit: "t"}}})
	good, _ := json.Marshal(r)
	f.Add(good)
	f.Add([]byte(`{"enterprise":"EB","report":` + string(good) + `}`))
	f.Add([]byte(`{"intake_m3":1,"products":{"x":{"quantity":"a"}}}`))
	f.Add([]byte(`{"intake_m3":null,"units":[{"unit":"U","in_m3":{"value":1}}],"missing_points":["a",1]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := ServedDeclared(data); err != nil && err.Error() == "" {
			t.Fatal("an error without a message")
		}
		ServedLedgerSize(data)
		if rows, err := ComparePoints(balance.Volumes{"PI": 12.5}, map[string]float64{"PI": 1}, data, 1e-6); err == nil {
			for _, row := range rows {
				if row.Agree && row.Served == "(not served)" {
					t.Fatalf("point figure %s agrees though it was not served", row.Figure)
				}
			}
		}
		rows, err := CompareBalance(r, data, 1e-6)
		if err != nil {
			return
		}
		for _, row := range rows {
			if row.Agree && row.Served == "(not served)" {
				t.Fatalf("figure %s agrees though it was not served", row.Figure)
			}
		}
	})
}

// TestBalanceAfterAnEarlierAudit: with the checkpoint of an earlier
// passing audit, the readings below it are not signature-checked again,
// and entries below it that changed since are caught by the prefix root.
func TestBalanceAfterAnEarlierAudit(t *testing.T) {
	k, entries := balanceLedger(t)
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, cst)
	run := func(dir string, audited []byte) *BalanceResult {
		t.Helper()
		f, _ := NewFetcher(dir, nil)
		res, err := Balance(context.Background(), f, BalanceOptions{Audit: AuditOptions{LogKey: k.logKey, Audited: audited},
			Enterprise: "EB", From: from, To: from.AddDate(0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	early := t.TempDir()
	k.writeTiles(t, early, entries[:100])
	audited, err := os.ReadFile(filepath.Join(early, "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	k.writeTiles(t, dir, entries)
	full, incremental := run(dir, nil), run(dir, audited)
	if incremental.Audit.Failed(false) || incremental.Audit.AuditedSize != 100 || incremental.Audit.SignaturesTrusted != 100-10 {
		t.Fatalf("incremental audit: %+v", incremental.Audit)
	}
	for id, v := range full.Volumes {
		if incremental.Volumes[id] != v {
			t.Errorf("%s: %v after an earlier audit, %v without", id, incremental.Volumes[id], v)
		}
	}
	// Two entries below the audited size swapped: every signature still
	// verifies, the prefix root does not.
	rewritten := append([][]byte(nil), entries...)
	rewritten[20], rewritten[21] = entries[21], entries[20]
	k.writeTiles(t, dir, rewritten)
	res := run(dir, audited)
	found := false
	for _, p := range res.Audit.Problems {
		found = found || p.Kind == ProblemRoot && strings.Contains(p.Detail, "audited checkpoint")
	}
	if !found {
		t.Fatalf("entries changed below the audited checkpoint: problems %+v", res.Audit.Problems)
	}
	// An audited checkpoint newer than the log's is a rollback.
	f, _ := NewFetcher(early, nil)
	full2, _ := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if _, err := Balance(context.Background(), f, BalanceOptions{Audit: AuditOptions{LogKey: k.logKey, Audited: full2},
		Enterprise: "EB", From: from, To: from.AddDate(0, 0, 1)}); err == nil || !strings.Contains(err.Error(), "rollback") {
		t.Fatalf("rollback: %v", err)
	}
}
