package leak

import (
	"bufio"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// battledimTruth loads the 2019 ground truth with its outflow series.
func battledimTruth(t testing.TB) ([]TrueLeak, time.Time) {
	t.Helper()
	leaks, err := ReadLeakInfo(openData(t, "leak", "battledim", "battledim_2019_leak_info.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := BattLeDIMRules()
	if err != nil {
		t.Fatal(err)
	}
	start, series, err := ReadLeakOutflow(openData(t, "leak", "battledim", "battledim_2019_leak_outflow_m3h.csv.gz"), rules.Step)
	if err != nil {
		t.Fatal(err)
	}
	for i := range leaks {
		leaks[i].Outflow = series[leaks[i].Pipe]
		if leaks[i].Outflow == nil {
			t.Fatalf("no outflow series for %s", leaks[i].Pipe)
		}
	}
	return leaks, start
}

// officialScores reads the per-entry "Score:" values and the total of an
// official MATLAB report.
func officialScores(t *testing.T, name string) (entries []float64, total float64) {
	t.Helper()
	sc := bufio.NewScanner(openData(t, "leak", "battledim", "scoring_fixtures", name))
	// The PERFECT_TEAM report contains a failed first run; keep the last.
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "Calculating score"):
			entries = nil
		case strings.HasPrefix(line, "Score:"):
			v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, "Score:")), 64)
			if err != nil {
				t.Fatal(err)
			}
			entries = append(entries, v)
		case strings.HasPrefix(line, "Total score:"):
			// The total carries a € sign in a legacy encoding.
			num := strings.TrimLeftFunc(strings.TrimPrefix(line, "Total score:"), func(r rune) bool { return r != '-' && (r < '0' || r > '9') })
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				t.Fatal(err)
			}
			total = v
		}
	}
	return entries, total
}

func TestScoreOfficialFixtures(t *testing.T) {
	g := ltownGraph(t)
	leaks, start := battledimTruth(t)
	rules, err := BattLeDIMRules()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		submission, report string
		total              float64 // as printed by the official report
		tp, fp, fn         int
	}{
		{"PERFECT_TEAM.txt", "PERFECT_TEAM_report.txt", 523153.82, 23, 0, 0},
		{"test_team.txt", "test_team_report.txt", 523153.82, 23, 0, 0},
		{"test_team_multiple.txt", "test_team_multiple_report.txt", 9547.81, 1, 1, 22},
	}
	for _, tc := range tests {
		t.Run(tc.submission, func(t *testing.T) {
			reports, err := ParseReports(openData(t, "leak", "battledim", "scoring_fixtures", tc.submission))
			if err != nil {
				t.Fatal(err)
			}
			res, err := Score(g, leaks, start, reports, rules)
			if err != nil {
				t.Fatal(err)
			}
			if got := math.Round(res.Total*100) / 100; got != tc.total {
				t.Errorf("total %.4f, official %.2f", res.Total, tc.total)
			}
			if res.TP != tc.tp || res.FP != tc.fp || res.FN != tc.fn {
				t.Errorf("TP %d FP %d FN %d, official %d %d %d", res.TP, res.FP, res.FN, tc.tp, tc.fp, tc.fn)
			}
			entries, total := officialScores(t, tc.report)
			if total != tc.total {
				t.Fatalf("fixture total %v, test table says %v", total, tc.total)
			}
			if len(entries) != len(res.Reports) {
				t.Fatalf("%d scored entries, official report has %d", len(res.Reports), len(entries))
			}
			for i, want := range entries {
				// The MATLAB report prints about 4 decimals.
				if got := res.Reports[i].Value; math.Abs(got-want) > 6e-3 {
					t.Errorf("entry %d (%s %s): %.4f, official %.4f", i+1, res.Reports[i].Link,
						res.Reports[i].Time.Format("2006-01-02 15:04"), got, want)
				}
			}
		})
	}
}

func TestScoreRules(t *testing.T) {
	// A 4-pipe line a-b-c-d-e with 100 m pipes, one leak on p2 over
	// steps 0..11 with 12 m³/h outflow (1 m³ per step-hour/12).
	g, err := NewPipeGraph([]GraphLink{
		{ID: "p1", From: "a", To: "b", Length: 100, IsPipe: true},
		{ID: "p2", From: "b", To: "c", Length: 100, IsPipe: true},
		{ID: "p3", From: "c", To: "d", Length: 100, IsPipe: true},
		{ID: "p4", From: "d", To: "e", Length: 400, IsPipe: true},
		{ID: "v1", From: "e", To: "f"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	step := 5 * time.Minute
	flow := make([]float64, 12)
	for i := range flow {
		flow[i] = 12
	}
	leaks := []TrueLeak{{Pipe: "p2", Start: t0.Add(2 * step), End: t0.Add(9 * step), Outflow: flow}}
	rules := ScoringRules{MaxDistance: 300, WaterCost: 1, CrewCost: 300, Step: step}
	at := func(link string, k int) Report { return Report{Link: link, Time: t0.Add(time.Duration(k) * step)} }
	tests := []struct {
		name    string
		reports []Report
		total   float64
		tp, fp  int
	}{
		// Detected at step 4: water from step 3 on = 9 steps × 1 m³.
		{"exact pipe", []Report{at("p2", 4)}, 9, 1, 0},
		// Neighbour p3 is 100 m away: 9 − 100/300·300.
		{"neighbour", []Report{at("p3", 4)}, 9 - 100, 1, 0},
		// p4 is 100 + 50 + 200 = 350 m away: not a hit.
		{"too far", []Report{at("p4", 4)}, -300, 0, 1},
		{"before start", []Report{at("p2", 1)}, -300, 0, 1},
		{"after end", []Report{at("p2", 10)}, -300, 0, 1},
		{"second report is worth nothing", []Report{at("p2", 5), at("p2", 4)}, 9, 1, 0},
		{"before period ignored", []Report{{Link: "p2", Time: t0.Add(-time.Hour)}}, 0, 0, 0},
		// A valve has length 0: e to c is 500 m, too far.
		{"valve", []Report{at("v1", 4)}, -300, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Score(g, leaks, t0, tc.reports, rules)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(res.Total-tc.total) > 1e-9 || res.TP != tc.tp || res.FP != tc.fp || res.FN != 1-tc.tp {
				t.Errorf("total %v TP %d FP %d FN %d; want %v %d %d %d", res.Total, res.TP, res.FP, res.FN, tc.total, tc.tp, tc.fp, 1-tc.tp)
			}
		})
	}
	if _, err := Score(g, leaks, t0, []Report{{Link: "nope", Time: t0, Line: 7}}, rules); err == nil || !strings.Contains(err.Error(), "line 7") {
		t.Errorf("unknown link: err %v, want one naming line 7", err)
	}
}

func TestParseReportsErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"p1 2019-01-01 00:00\n", "line 1"},
		{"# c\np1, 2019-13-01 00:00\n", "line 2"},
		{"p1, yesterday\n", "invalid time"},
		{", 2019-01-01 00:00\n", "invalid link"},
	}
	for _, tc := range tests {
		if _, err := ParseReports(strings.NewReader(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want %q", tc.in, err, tc.want)
		}
	}
	got, err := ParseReports(strings.NewReader("\ufeff# h\r\n\r\n p7 , 2019-02-03 04:05:06 , extra\r\n"))
	if err != nil || len(got) != 1 || got[0].Link != "p7" || got[0].Line != 3 ||
		!got[0].Time.Equal(time.Date(2019, 2, 3, 4, 5, 6, 0, time.UTC)) {
		t.Errorf("got %+v, %v", got, err)
	}
}

func FuzzParseReports(f *testing.F) {
	f.Add("# linkID, time\np257, 2019-01-01 00:05\n")
	f.Add("p1, 2019-01-01 00:05:00, x\r\n\r\n")
	f.Add(",,,\n")
	f.Fuzz(func(t *testing.T, in string) {
		reports, err := ParseReports(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, r := range reports {
			if r.Link == "" || r.Line < 1 {
				t.Fatalf("accepted report %+v", r)
			}
		}
	})
}

func TestPipeGraphDistance(t *testing.T) {
	g := ltownGraph(t)
	// Symmetry, identity and the half-length rule on real L-Town pipes.
	for _, pair := range [][2]string{{"p257", "p427"}, {"p632", "p653"}, {"p1", "p905"}} {
		ab, err := g.Distance(pair[0], pair[1])
		if err != nil {
			t.Fatal(err)
		}
		ba, _ := g.Distance(pair[1], pair[0])
		if math.Abs(ab-ba) > 1e-9 || ab <= 0 {
			t.Errorf("%v: d=%v reverse %v", pair, ab, ba)
		}
	}
	if d, _ := g.Distance("p1", "p1"); d != 0 {
		t.Errorf("self distance %v", d)
	}
	if _, err := g.Distance("p1", "nope"); err == nil {
		t.Error("unknown link accepted")
	}
	if _, err := NewPipeGraph([]GraphLink{{ID: "p", From: "a", To: "b", Length: math.NaN(), IsPipe: true}}); err == nil {
		t.Error("NaN length accepted")
	}
}

func BenchmarkPipeGraphDistancesFrom(b *testing.B) {
	g := ltownGraph(b)
	for b.Loop() {
		if _, err := g.DistancesFrom("p257"); err != nil {
			b.Fatal(err)
		}
	}
}
