package network

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shuixiao/shuixiao/internal/testfiles"
)

// tinyNet is a small valid network the error cases below are made from.
const tinyNet = `[TITLE]
tiny
[JUNCTIONS]
 J1  10  5
 J2  12  3   P1
[RESERVOIRS]
 R1  50
[TANKS]
 T1  30  5  0  10  8
[PIPES]
 P1  R1  J1  1000  12  100
 P2  J1  J2  800   10  100
 P3  J2  T1  500   8   100
[PATTERNS]
 P1  1.0  1.2  0.8
[OPTIONS]
 Units  GPM
[TIMES]
 Duration  6:00
[END]
`

func TestParseTiny(t *testing.T) {
	net, err := ParseBytes([]byte(tinyNet))
	if err != nil {
		t.Fatal(err)
	}
	if net.Junctions != 2 || len(net.Nodes) != 4 || len(net.Links) != 3 {
		t.Fatalf("got %d junctions, %d nodes, %d links", net.Junctions, len(net.Nodes), len(net.Links))
	}
	if i, _ := net.NodeIndex("R1"); net.Nodes[i].Kind != Reservoir || i != 2 {
		t.Errorf("R1 at %d kind %v", i, net.Nodes[i].Kind)
	}
	if i, _ := net.NodeIndex("T1"); net.Nodes[i].Kind != Tank || net.Nodes[i].Diameter != 8 {
		t.Errorf("T1: %+v", net.Nodes[i])
	}
	j2, _ := net.NodeIndex("J2")
	if d := net.Nodes[j2].Demands; len(d) != 1 || d[0].Base != 3 || d[0].Pattern != 0 {
		t.Errorf("J2 demands %+v", d)
	}
	if net.Times.Duration != 6*3600 || net.Title[0] != "tiny" {
		t.Errorf("times %+v title %q", net.Times, net.Title)
	}
}

// replaceLine swaps one exact line of tinyNet.
func withLine(old, repl string) string {
	if !strings.Contains(tinyNet, old) {
		panic("tinyNet has no line " + old)
	}
	return strings.Replace(tinyNet, old, repl, 1)
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name string
		inp  string
		code int
		line int
		item string
	}{
		{"undefined node", withLine(" P2  J1  J2  800", " P2  J1  JX  800"), 203, 12, "JX"},
		{"malformed number", withLine(" P2  J1  J2  800", " P2  J1  J2  8O0"), 202, 12, "8O0"},
		{"NaN length", withLine(" P2  J1  J2  800", " P2  J1  J2  NaN"), 202, 12, "NaN"},
		{"negative length", withLine(" P2  J1  J2  800", " P2  J1  J2  -800"), 202, 12, "-800"},
		{"infinite diameter", withLine("800   10  100", "800   Inf  100"), 202, 12, "Inf"},
		{"zero roughness", withLine("800   10  100", "800   10  0"), 202, 12, "0"},
		{"too few pipe fields", withLine(" P2  J1  J2  800   10  100", " P2  J1"), 201, 12, ""},
		{"same end nodes", withLine(" P2  J1  J2  800", " P2  J1  J1  800"), 222, 12, "P2"},
		{"duplicate ID", withLine(" J2  12  3   P1", " J1  12  3   P1"), 215, 5, "J1"},
		{"undefined pattern", withLine(" J2  12  3   P1", " J2  12  3   PX"), 205, 5, "PX"},
		{"negative tank level", withLine(" T1  30  5  0  10  8", " T1  30  -5  0  10  8"), 209, 9, "-5"},
		{"bad section", withLine("[END]", "[FOO]\n x 1\n[END]"), 299, 20, "[FOO]"},
		{"bad option value", withLine(" Units  GPM", " Units  GALLONS"), 213, 17, "GALLONS"},
		{"bad clock time", withLine(" Duration  6:00", " Start ClockTime 20 PM"), 213, 19, "20"},
		{"control on unknown link", withLine("[END]", "[CONTROLS]\n LINK PX OPEN AT TIME 2\n[END]"), 204, 21, "PX"},
		{"control on check valve", withLine(" P3  J2  T1  500   8   100", " P3  J2  T1  500   8   100 0 CV\n[CONTROLS]\n LINK P3 OPEN AT TIME 2"), 207, 15, "P3"},
		{"valve at a tank", withLine("[PATTERNS]", "[VALVES]\n V1 J2 T1 8 PRV 40\n[PATTERNS]"), 219, 15, "T1"},
		{"rule syntax", withLine("[END]", "[RULES]\nRULE 1\nIF TANK T1 LEVEL\n[END]"), 201, 22, ""},
		{"rule value", withLine("[END]", "[RULES]\nRULE 1\nIF TANK T1 LEVEL ABOVE\n[END]"), 202, 22, "ABOVE"},
		{"misplaced rule clause", withLine("[END]", "[RULES]\nRULE 1\nTHEN LINK P2 STATUS IS CLOSED\n[END]"), 221, 22, "THEN"},
		{"PDA limits", withLine(" Units  GPM", " Units  GPM\n Minimum Pressure 20\n Required Pressure 10"), 208, 19, "10"},
		{"ID too long", withLine(" J2  12  3   P1", " J2345678901234567890123456789012  12"), 252, 5, "J2345678901234567890123456789012"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseBytes([]byte(tc.inp))
			var ies InputErrors
			if !errors.As(err, &ies) || len(ies) == 0 {
				t.Fatalf("got %v, want input error %d", err, tc.code)
			}
			e := ies[0]
			if e.Code != tc.code || e.Line != tc.line || e.Item != tc.item {
				t.Fatalf("got %q (code %d line %d item %q), want code %d line %d item %q",
					e.Error(), e.Code, e.Line, e.Item, tc.code, tc.line, tc.item)
			}
			msg := err.Error()
			if !strings.Contains(msg, "error ") || !strings.Contains(msg, "line") {
				t.Errorf("message %q does not name code and line", msg)
			}
		})
	}
}

// The message format the issue asks for.
func TestErrorMessageNamesLine(t *testing.T) {
	_, err := ParseBytes([]byte(withLine(" P2  J1  J2  800", " P2  J1  X  800")))
	want := "error 203: undefined node X in [PIPES] line 12"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

func TestParseReportsAllErrors(t *testing.T) {
	inp := withLine(" P2  J1  J2  800", " P2  J1  JX  800")
	inp = strings.Replace(inp, " P3  J2  T1  500", " P3  J2  TX  500", 1)
	_, err := ParseBytes([]byte(inp))
	var ies InputErrors
	if !errors.As(err, &ies) || len(ies) != 2 || ies[1].Line != 13 {
		t.Fatalf("got %v, want two errors (lines 12, 13)", err)
	}
}

// Errors EPANET raises when opening the solver rather than the file.
func TestSolverValidation(t *testing.T) {
	cases := []struct {
		name string
		inp  string
		code int
		item string
	}{
		{"no tanks or reservoirs", "[JUNCTIONS]\nJ1 0\nJ2 0\n[PIPES]\nP J1 J2 10 10 100\n", 224, ""},
		{"empty file", "", 223, ""},
		{"no source", strings.Replace(strings.Replace(tinyNet, " R1  50\n", "", 1), " T1  30  5  0  10  8\n", "", 1), 0, ""},
		{"unconnected junction", withLine(" J2  12  3   P1", " J2  12  3   P1\n J3  5"), 233, ""},
		{"tank levels", withLine(" T1  30  5  0  10  8", " T1  30  12  0  10  8"), 225, "T1"},
		{"empty pattern", withLine("[PATTERNS]", "[PATTERNS]\n;no data for PE\n[JUNCTIONS]\n J9 1\n[PIPES]\n P9 J9 J1 10 10 100\n[OPTIONS]\n Pattern PE"), 0, ""},
		{"pump without curve", withLine("[PATTERNS]", "[PUMPS]\n PU1 J1 J2\n[PATTERNS]"), 226, "PU1"},
		{"bad pump curve", withLine("[PATTERNS]", "[PUMPS]\n PU1 J1 J2 HEAD C1\n[CURVES]\n C1 100 50\n C1 200 60\n[PATTERNS]"), 227, "PU1"},
		{"decreasing curve x", withLine("[PATTERNS]", "[PUMPS]\n PU1 J1 J2 HEAD C1\n[CURVES]\n C1 200 50\n C1 100 40\n[PATTERNS]"), 230, "C1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			net, err := ParseBytes([]byte(tc.inp))
			if err != nil {
				if tc.code != 0 {
					t.Fatalf("parse: %v", err)
				}
				return // rejected at parse time is fine for these
			}
			_, err = NewSolver(net)
			var ies InputErrors
			var ie *InputError
			switch {
			case errors.As(err, &ies):
				ie = ies[0]
			case errors.As(err, &ie):
			default:
				t.Fatalf("got %v, want a model error", err)
			}
			if tc.code != 0 && (ie.Code != tc.code || (tc.item != "" && ie.Item != tc.item)) {
				t.Fatalf("got %v, want code %d item %s", err, tc.code, tc.item)
			}
		})
	}
	// The junction that is not connected is named.
	net, _ := ParseBytes([]byte(withLine(" J2  12  3   P1", " J2  12  3   P1\n J3  5")))
	_, err := NewSolver(net)
	if err == nil || !strings.Contains(err.Error(), "233") {
		t.Fatalf("got %v", err)
	}
	var ies InputErrors
	if !errors.As(err, &ies) || len(ies) != 2 || ies[1].Code != 234 || ies[1].Item != "J3" {
		t.Fatalf("got %v, want 233 then 234 naming J3", err)
	}
	net, _ = ParseBytes([]byte(strings.Replace(strings.Replace(tinyNet, " R1  50\n", "", 1), " T1  30  5  0  10  8\n", "", 1)))
	if net != nil {
		t.Fatal("network without sources and with dangling pipes parsed")
	}
}

func TestCRLFAndLatin1(t *testing.T) {
	lf, err := ParseBytes([]byte(tinyNet))
	if err != nil {
		t.Fatal(err)
	}
	crlf, err := ParseBytes([]byte(strings.ReplaceAll(tinyNet, "\n", "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	if len(crlf.Nodes) != len(lf.Nodes) || crlf.Title[0] != "tiny" || crlf.Links[2].Length != 500 {
		t.Fatalf("CRLF file read differently: %+v", crlf.Title)
	}
	// "Jé" in Latin-1: 0xE9 is not valid UTF-8.
	raw := strings.ReplaceAll(tinyNet, "J2", "J\xe9")
	net, err := ParseBytes([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := net.NodeIndex("Jé"); !ok {
		t.Fatal("Latin-1 ID not decoded to UTF-8")
	}
}

func TestEPANET23Sections(t *testing.T) {
	inp := withLine("[PATTERNS]", `[VALVES]
 V1  J1  J2  10  PCV  40  2  KV
[CURVES]
 KV  0 0
 KV  50 30
 KV  100 100
[LEAKAGE]
 P2  1.5  0.2
[TAGS]
 NODE J1 zoneA
 LINK P2 main
[CONTROLS]
 LINK P2 CLOSED AT TIME 1 DISABLED
[PATTERNS]`)
	net, err := ParseBytes([]byte(inp))
	if err != nil {
		t.Fatal(err)
	}
	k, _ := net.LinkIndex("V1")
	if l := net.Links[k]; l.Kind != PCV || l.Setting != 40 || l.ValveCurve < 0 {
		t.Errorf("PCV: %+v", l)
	}
	p2, _ := net.LinkIndex("P2")
	if l := net.Links[p2]; l.LeakArea != 1.5 || l.LeakExpansion != 0.2 || l.Tag != "main" {
		t.Errorf("leakage/tag: %+v", l)
	}
	if j, _ := net.NodeIndex("J1"); net.Nodes[j].Tag != "zoneA" {
		t.Errorf("node tag %q", net.Nodes[j].Tag)
	}
	if len(net.Controls) != 1 || net.Controls[0].Enabled {
		t.Errorf("DISABLED control: %+v", net.Controls)
	}
	s, err := NewSolver(net)
	if err != nil {
		t.Fatal(err)
	}
	// The disabled control must not close P2 at 1:00.
	err = s.Run(func(st *Step) error {
		if st.Solver.LinkResult(p2).StatusCode != 1 {
			t.Errorf("P2 closed at %d by a disabled control", st.Time)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestParseAllSharedNetworks(t *testing.T) {
	n := 0
	for _, name := range testfiles.Names(t, "networks") {
		if !strings.HasSuffix(name, ".inp") {
			continue
		}
		n++
		net, err := ReadFile(networkPath(t, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, err := NewSolver(net); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n < 10 {
		t.Fatalf("only %d networks found", n)
	}
}

func TestParseHours(t *testing.T) {
	for _, tc := range []struct {
		v, u string
		want float64
	}{
		{"5", "", 5}, {"90", "MIN", 1.5}, {"7200", "SECONDS", 2}, {"1", "DAYS", 24},
		{"1:30", "", 1.5}, {"1:30:36", "", 1.51}, {"12", "AM", 0}, {"12", "PM", 12},
		{"1:15", "pm", 13.25}, {"20", "PM", -1}, {"x", "", -1}, {"5", "FURLONGS", -1},
	} {
		if got := parseHours(tc.v, tc.u); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("parseHours(%q, %q) = %v, want %v", tc.v, tc.u, got, tc.want)
		}
	}
}

// FuzzParse feeds arbitrary text to the reader, the solver and a short
// simulation: never a panic, never a NaN head.
func FuzzParse(f *testing.F) {
	f.Add([]byte(tinyNet))
	f.Add([]byte(strings.ReplaceAll(tinyNet, "\n", "\r\n")))
	for _, name := range []string{"Net1.inp", "Net2.inp", "Anytown.inp"} {
		f.Add(testfiles.ReadFile(f, "networks", name))
	}
	for _, name := range []string{"allkinds.inp", "net1_features.inp"} {
		if b, err := os.ReadFile(filepath.Join("testdata", "epanet", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("[JUNCTIONS]\nJ1 0\n[RESERVOIRS]\nR 10\n[PIPES]\nP R J1 10 10 100\n[RULES]\nRULE 1\nIF SYSTEM TIME > 1\nTHEN PIPE P STATUS IS CLOSED\n"))
	f.Add([]byte("[JUNCTIONS]\nJ1 0 1\n[TANKS]\nT 0 1 0 2 5 0 VC\n[CURVES]\nVC 0 0\nVC 5 100\n[PIPES]\nP T J1 10 10 100\n[EMITTERS]\nJ1 1\n[OPTIONS]\nDemand Model PDA\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		net, err := ParseBytes(data)
		if err != nil {
			var ies InputErrors
			if !errors.As(err, &ies) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if net.Times.Duration > 6*3600 {
			net.Times.Duration = 6 * 3600
		}
		s, err := NewSolver(net)
		if err != nil {
			return
		}
		steps := 0
		_ = s.Run(func(st *Step) error {
			for i := range net.Nodes {
				if h := st.Solver.Head(i); math.IsNaN(h) {
					t.Fatalf("NaN head at node %s, t=%d", net.Nodes[i].ID, st.Time)
				}
			}
			steps++
			if steps > 50 {
				return errors.New("enough")
			}
			return nil
		})
	})
}

// EPANET quirks kept for compatibility: a GPV's setting is its curve
// number; a [TANKS] line with zero diameter is a reservoir at its initial
// level; the valve read just before another valve is not checked against
// it (EPANET 2.3.5 accepts a PSV right after the PRV feeding it).
func TestEPANETQuirks(t *testing.T) {
	inp := withLine("[PATTERNS]", `[VALVES]
 V1  J1  J2  8  GPV  GV
[CURVES]
 C0  0 0
 C0  1 1
 GV  0 0
 GV  500 10
[PATTERNS]`)
	inp = strings.Replace(inp, " T1  30  5  0  10  8", " T1  30  5  0  10  0", 1)
	net, err := ParseBytes([]byte(inp))
	if err != nil {
		t.Fatal(err)
	}
	k, _ := net.LinkIndex("V1")
	if net.Links[k].Setting != 2 {
		t.Errorf("GPV setting %v, want curve number 2", net.Links[k].Setting)
	}
	s, err := NewSolver(net)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Snapshot(0); err != nil {
		t.Fatal(err)
	}
	ti, _ := net.NodeIndex("T1")
	if net.Nodes[ti].Kind != Reservoir || s.Head(ti) != 35 {
		t.Errorf("zero-diameter tank: kind %v head %v, want a reservoir at 35", net.Nodes[ti].Kind, s.Head(ti))
	}
	if r := s.LinkResult(k); r.Setting != 2 {
		t.Errorf("GPV reported setting %v, want 2", r.Setting)
	}

	psvAfterPRV := `[JUNCTIONS]
 A 0 1
 B 0 1
 C 0 1
[RESERVOIRS]
 R 50
[PIPES]
 P0 R A 100 10 100
 P1 C R 100 10 100
[VALVES]
 V1 A B 8 PRV 20
 V2 B C 8 PSV 10
`
	if _, err := ParseBytes([]byte(psvAfterPRV)); err != nil {
		t.Errorf("PSV right after its PRV rejected: %v", err)
	}
	separated := strings.Replace(psvAfterPRV, " V2 B C 8 PSV 10", " V9 A C 8 TCV 1\n V2 B C 8 PSV 10", 1)
	var ies InputErrors
	if _, err := ParseBytes([]byte(separated)); !errors.As(err, &ies) || ies[0].Code != 220 {
		t.Errorf("PSV fed by a PRV two valves earlier: got %v, want error 220", err)
	}
}

// EPANET reads a line longer than 1023 bytes in pieces (C's fgets), each
// piece then parsed as a line of its own, and keeps at most 40 tokens of a
// line. EPANET 2.3.5 reads this file as P1 = 39 factors of the long line +
// 0.5, plus a pattern "1.0" made of the second piece's 39 factors.
func TestLongLinesReadInPieces(t *testing.T) {
	long := " P1" + strings.Repeat(" 1.0", 300) // 1203 bytes
	inp := withLine(" P1  1.0  1.2  0.8", long+"\n P1 0.5")
	net, err := ParseBytes([]byte(inp))
	if err != nil {
		t.Fatal(err)
	}
	p1, _ := net.PatternIndex("P1")
	one, ok := net.PatternIndex("1.0")
	if f := net.Patterns[p1].Factors; len(f) != 40 || f[39] != 0.5 || !ok || len(net.Patterns[one].Factors) != 39 {
		t.Errorf("P1 has %d factors, pattern 1.0 found %v; EPANET: 40 and a 39-factor pattern 1.0",
			len(net.Patterns[p1].Factors), ok)
	}
	if len(net.Warnings) == 0 || !strings.Contains(net.Warnings[0], "line 15") {
		t.Errorf("no warning for the long line: %v", net.Warnings)
	}
}

// Curves too short for their use fail cleanly instead of panicking or
// producing NaN heads.
func TestDegenerateCurves(t *testing.T) {
	vol := withLine(" T1  30  5  0  10  8", " T1  30  5  5  5  8  0  VC") + "[CURVES]\n VC 5 100\n"
	vol = strings.Replace(vol, "[END]\n", "", 1)
	net, err := ParseBytes([]byte(vol))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSolver(net); err == nil || !strings.Contains(err.Error(), "225") {
		t.Errorf("one-point volume curve: got %v, want error 225", err)
	}
	pcv := withLine("[PATTERNS]", "[VALVES]\n V1 J1 J2 8 PCV 50 1 K1\n[CURVES]\n K1 50 40\n[PATTERNS]")
	s := solverFor(t, pcv)
	if err := s.Snapshot(0); err != nil {
		t.Fatal(err)
	}
	for i := range s.Network().Nodes {
		if math.IsNaN(s.Head(i)) {
			t.Fatalf("NaN head at %s", s.Network().Nodes[i].ID)
		}
	}
}
