package network

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/shuixiao/shuixiao/internal/testfiles"
)

// networkPath returns a path to the network file name in the repository's
// testdata/networks (decompressed if stored gzipped); a missing file fails
// the test.
func networkPath(t testing.TB, name string) string {
	t.Helper()
	return testfiles.Path(t, "networks", name)
}

// refTable is one EPANET reference dump (nodes or links) read into rows
// keyed by time and ID.
type refTable struct {
	source string
	units  string
	times  []int64
	rows   map[int64]map[string][]string // t → id → fields after t_s,id
}

func openMaybeGzip(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, nil
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{gz, f}, nil
}

func readRefTable(t testing.TB, path string) *refTable {
	t.Helper()
	rc, err := openMaybeGzip(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	tab := &refTable{rows: map[int64]map[string][]string{}}
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if strings.HasPrefix(text, "#") {
			for _, f := range strings.Fields(text) {
				if v, ok := strings.CutPrefix(f, "source="); ok {
					tab.source = v
				}
				if v, ok := strings.CutPrefix(f, "flow_units="); ok {
					tab.units = v
				}
			}
			continue
		}
		if strings.HasPrefix(text, "t_s,") {
			continue
		}
		f := strings.Split(text, ",")
		ts, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || len(f) < 3 {
			t.Fatalf("%s line %d: bad row %q", path, line, text)
		}
		m, ok := tab.rows[ts]
		if !ok {
			m = map[string][]string{}
			tab.rows[ts] = m
			tab.times = append(tab.times, ts)
		}
		m[f[1]] = f[2:]
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return tab
}

// refSteps reads a *_steps.csv: time → (step length, iterations).
func refSteps(t testing.TB, path string) (times []int64, length, iters map[int64]int64) {
	t.Helper()
	rc, err := openMaybeGzip(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	length, iters = map[int64]int64{}, map[int64]int64{}
	for sc.Scan() {
		f := strings.Split(sc.Text(), ",")
		if len(f) < 3 || f[0] == "t_s" {
			continue
		}
		ts, _ := strconv.ParseInt(f[0], 10, 64)
		l, _ := strconv.ParseInt(f[1], 10, 64)
		it, _ := strconv.ParseInt(f[2], 10, 64)
		times = append(times, ts)
		length[ts], iters[ts] = l, it
	}
	return times, length, iters
}

func num(t testing.TB, s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("bad number %q", s)
	}
	return v
}

// parityReport is the outcome of comparing a run with a reference.
type parityReport struct {
	maxHeadErr    float64 // metres, over connected nodes
	maxHeadAt     string
	flowFailures  int
	maxFlowRatio  float64 // worst |ΔQ| / (atol + rtol·max|Q(t)|)
	excluded      int     // (time, node) pairs skipped as disconnected
	iterMismatch  int
	compared      int
	timesMismatch string
}

// compareWithReference runs the network of a reference dump and compares
// every hydraulic step with EPANET's: identical step times, heads within
// headTol metres (nodes cut off from every source excluded), flows within
// 1e-4 + 1e-3·max|Q(t)| — the rule of shared/tools/epanet_compare.py.
func compareWithReference(t *testing.T, refDir, name string, firstStepOnly bool) parityReport {
	nodePath := findRef(t, refDir, name+"_nodes.csv")
	linkPath := findRef(t, refDir, name+"_links.csv")
	stepPath := findRef(t, refDir, name+"_steps.csv")
	nodes := readRefTable(t, nodePath)
	links := readRefTable(t, linkPath)
	times, lengths, iters := refSteps(t, stepPath)
	inp := nodes.source // a reference made for this package: testdata/epanet/…
	if !strings.HasPrefix(nodes.source, "testdata/") {
		inp = testfiles.Path(t, strings.Split(nodes.source, "/")...) // networks/…
	}
	net, err := ReadFile(inp)
	if err != nil {
		t.Fatal(err)
	}
	// A reference whose last step still has a length is the start of a
	// longer run (L-TOWN_24h): run as far as it goes.
	last := times[len(times)-1]
	truncated := lengths[last] != 0
	if !truncated && !firstStepOnly {
		net.Times.Duration = last // the dump may come from a shortened run
	}
	s, err := NewSolver(net)
	if err != nil {
		t.Fatal(err)
	}
	hfac := 1.0
	if !net.Options.FlowUnits.SI() {
		hfac = 0.3048
	}
	var rep parityReport
	var ourTimes []int64
	stopped := errors.New("first step done")
	err = s.Run(func(st *Step) error {
		ourTimes = append(ourTimes, st.Time)
		if it, ok := iters[st.Time]; ok && it != int64(st.Stats.Iterations) {
			rep.iterMismatch++
		}
		refNodes, ok := nodes.rows[st.Time]
		if !ok {
			return nil
		}
		// Nodes cut off from every source, in this solution or in EPANET's
		// (its link statuses), have no defined head.
		cut := map[int]bool{}
		for _, i := range s.Disconnected() {
			cut[i] = true
		}
		for i := range refCutOff(t, net, refNodes, links.rows[st.Time]) {
			cut[i] = true
		}
		for i := range net.Nodes {
			f, ok := refNodes[net.Nodes[i].ID]
			if !ok {
				return fmt.Errorf("node %s missing from reference at %d", net.Nodes[i].ID, st.Time)
			}
			if cut[i] {
				rep.excluded++
				continue
			}
			d := math.Abs(num(t, f[1])-s.Head(i)) * hfac
			if d > rep.maxHeadErr {
				rep.maxHeadErr = d
				rep.maxHeadAt = fmt.Sprintf("node %s t=%d", net.Nodes[i].ID, st.Time)
			}
			rep.compared++
		}
		refLinks := links.rows[st.Time]
		qmax := 0.0
		for _, f := range refLinks {
			qmax = math.Max(qmax, math.Abs(num(t, f[1])))
		}
		tol := 1e-4 + 1e-3*qmax
		for k := range net.Links {
			f, ok := refLinks[net.Links[k].ID]
			if !ok {
				return fmt.Errorf("link %s missing from reference at %d", net.Links[k].ID, st.Time)
			}
			d := math.Abs(num(t, f[1]) - s.Flow(k))
			if d > tol {
				rep.flowFailures++
			}
			rep.maxFlowRatio = math.Max(rep.maxFlowRatio, d/tol)
		}
		if firstStepOnly || (truncated && st.Time >= last) {
			return stopped
		}
		return nil
	})
	var halt *HaltError
	if err != nil && err != stopped && !errors.As(err, &halt) {
		t.Fatal(err)
	}
	want := times
	if firstStepOnly {
		want = times[:1]
	}
	if fmt.Sprint(want) != fmt.Sprint(ourTimes) {
		rep.timesMismatch = fmt.Sprintf("step times differ:\n ref %v\n got %v", head(want), head(ourTimes))
	}
	return rep
}

// refCutOff returns the junctions that no tank, reservoir or inflow
// junction reaches through links EPANET reports as not closed (check
// valves, PRVs and PSVs passed downstream only).
func refCutOff(t testing.TB, net *Network, nodes, links map[string][]string) map[int]bool {
	adj := net.IncidentLinks()
	reached := make([]bool, len(net.Nodes))
	var queue []int
	for i, nd := range net.Nodes {
		if f, ok := nodes[nd.ID]; ok && (nd.Kind != Junction || num(t, f[3]) < 0) {
			reached[i] = true
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, k := range adj[i] {
			l := net.Links[k]
			if f, ok := links[l.ID]; !ok || f[4] == "0" {
				continue
			}
			j := l.From
			if j == i {
				j = l.To
			}
			if j == l.From && (l.Kind == CVPipe || l.Kind == PRV || l.Kind == PSV) {
				continue // these pass water downstream only
			}
			if !reached[j] {
				reached[j] = true
				queue = append(queue, j)
			}
		}
	}
	cut := map[int]bool{}
	for i := range net.Junctions {
		if !reached[i] {
			cut[i] = true
		}
	}
	return cut
}

func head(ts []int64) []int64 {
	if len(ts) > 12 {
		return ts[:12]
	}
	return ts
}

func findRef(t testing.TB, dir, file string) string {
	p := filepath.Join(dir, file)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	if _, err := os.Stat(p + ".gz"); err == nil {
		return p + ".gz"
	}
	t.Fatalf("reference %s not found", p)
	return ""
}

// refNames lists the reference dumps in a directory of epanet-ref.
func refNames(t testing.TB, dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		n := strings.TrimSuffix(e.Name(), ".gz")
		if base, ok := strings.CutSuffix(n, "_nodes.csv"); ok {
			names = append(names, base)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		t.Fatalf("no references in %s", dir)
	}
	return names
}

// TestParityWithEPANET compares every reference in the repository's testdata/epanet-ref
// (t0: first hydraulic step; eps: the whole extended period run) and the
// EPANET 2.3.5 dumps in testdata/epanet of two networks made to exercise
// what the networks of testdata/epanet-ref do not: every valve kind, constant power and
// 1-point pumps, speed and head patterns, volume-curve and overflow
// tanks, pressure controls, rules with priorities and FILLTIME, PDA,
// emitters without backflow and FAVAD leakage.
func TestParityWithEPANET(t *testing.T) {
	data := testfiles.Dir(t)
	for _, kind := range []string{"t0", "eps", "testdata"} {
		dir := filepath.Join(data, "epanet-ref", kind)
		if kind == "testdata" {
			dir = filepath.Join("testdata", "epanet")
		}
		for _, name := range refNames(t, dir) {
			t.Run(kind+"/"+name, func(t *testing.T) {
				t.Parallel()
				rep := compareWithReference(t, dir, name, kind == "t0")
				t.Logf("max|ΔH| %.3g m (%s), worst flow %.3g of tolerance, %d compared, %d excluded, %d iteration mismatches",
					rep.maxHeadErr, rep.maxHeadAt, rep.maxFlowRatio, rep.compared, rep.excluded, rep.iterMismatch)
				if rep.timesMismatch != "" {
					t.Error(rep.timesMismatch)
				}
				if rep.maxHeadErr > 1e-3 {
					t.Errorf("max |ΔH| = %.3g m at %s, want ≤ 1e-3 m", rep.maxHeadErr, rep.maxHeadAt)
				}
				if rep.flowFailures > 0 {
					t.Errorf("%d flows outside 1e-4 + 1e-3·max|Q|", rep.flowFailures)
				}
				if rep.compared == 0 {
					t.Error("nothing compared")
				}
				if rep.iterMismatch > 0 {
					t.Errorf("%d steps with a different number of GGA trials than EPANET", rep.iterMismatch)
				}
			})
		}
	}
}
