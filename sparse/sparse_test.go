package sparse

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// randomSPD builds a random sparse symmetric diagonally dominant matrix
// (hence positive definite) as edges, off-diagonal values and a diagonal.
func randomSPD(rng *rand.Rand, n, m int) ([]Edge, []float64, []float64) {
	var edges []Edge
	var off []float64
	diag := make([]float64, n)
	for i := 1; i < n; i++ { // a spanning path keeps it connected
		edges = append(edges, Edge{i - 1, i})
	}
	for len(edges) < m {
		i, j := rng.IntN(n), rng.IntN(n)
		if i != j {
			edges = append(edges, Edge{i, j})
		}
	}
	for _, e := range edges {
		v := -rng.Float64()
		off = append(off, v)
		diag[e.I] -= v
		diag[e.J] -= v
	}
	for i := range diag {
		diag[i] += 0.1 + rng.Float64()
	}
	return edges, off, diag
}

// denseSolve solves A x = b by Gaussian elimination with partial pivoting.
func denseSolve(a [][]float64, b []float64) []float64 {
	n := len(b)
	for k := range n {
		p := k
		for i := k + 1; i < n; i++ {
			if math.Abs(a[i][k]) > math.Abs(a[p][k]) {
				p = i
			}
		}
		a[k], a[p] = a[p], a[k]
		b[k], b[p] = b[p], b[k]
		for i := k + 1; i < n; i++ {
			f := a[i][k] / a[k][k]
			for j := k; j < n; j++ {
				a[i][j] -= f * a[k][j]
			}
			b[i] -= f * b[k]
		}
	}
	x := make([]float64, n)
	for i := n - 1; i >= 0; i-- {
		s := b[i]
		for j := i + 1; j < n; j++ {
			s -= a[i][j] * x[j]
		}
		x[i] = s / a[i][i]
	}
	return x
}

func TestSolveMatchesDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ n, m int }{{1, 0}, {2, 1}, {5, 8}, {30, 60}, {120, 200}, {200, 900}} {
		edges, off, diag := randomSPD(rng, tc.n, tc.m)
		sym, slots, err := Analyze(tc.n, edges)
		if err != nil {
			t.Fatal(err)
		}
		c := sym.NewCholesky()
		dense := make([][]float64, tc.n)
		for i := range dense {
			dense[i] = make([]float64, tc.n)
			dense[i][i] = diag[i]
			c.AddDiag(i, diag[i])
		}
		for e, ed := range edges {
			c.AddOff(slots[e], off[e])
			dense[ed.I][ed.J] += off[e]
			dense[ed.J][ed.I] += off[e]
		}
		b := make([]float64, tc.n)
		for i := range b {
			b[i] = rng.NormFloat64()
			c.AddRHS(i, b[i])
		}
		want := denseSolve(dense, append([]float64(nil), b...))
		if err := c.Factorize(); err != nil {
			t.Fatalf("n=%d: %v", tc.n, err)
		}
		c.Solve()
		for i := range want {
			if got := c.Solution(i); math.Abs(got-want[i]) > 1e-9*(1+math.Abs(want[i])) {
				t.Fatalf("n=%d row %d: got %.15g want %.15g", tc.n, i, got, want[i])
			}
		}
	}
}

func TestOrderIsPermutation(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	edges, _, _ := randomSPD(rng, 300, 700)
	sym, _, err := Analyze(300, edges)
	if err != nil {
		t.Fatal(err)
	}
	seen := make([]bool, 300)
	for k, row := range sym.Order {
		if seen[row] {
			t.Fatalf("row %d eliminated twice", row)
		}
		seen[row] = true
		if sym.Pivot[row] != int32(k) {
			t.Fatalf("Pivot and Order disagree at %d", k)
		}
	}
	for k := range sym.N {
		col := sym.RowIndex[sym.ColStart[k]:sym.ColStart[k+1]]
		for p, r := range col {
			if int(r) <= k || (p > 0 && col[p-1] >= r) {
				t.Fatalf("column %d rows not strictly below and ascending: %v", k, col)
			}
		}
	}
}

// A k×k grid graph: minimum degree must need far less fill than the
// natural (row by row) order, whose factor has a band of width k.
func TestMinimumDegreeReducesFill(t *testing.T) {
	const k = 30
	sym, _, err := Analyze(k*k, gridEdges(k))
	if err != nil {
		t.Fatal(err)
	}
	natural := (k*k - k) * k // upper bound of band fill ≈ n·k
	if sym.Entries() >= natural/2 {
		t.Fatalf("minimum degree fill %d not well below banded %d", sym.Entries(), natural)
	}
	// A tree needs no fill at all.
	var tree []Edge
	for i := 1; i < 500; i++ {
		tree = append(tree, Edge{i, (i - 1) / 3})
	}
	sym, _, err = Analyze(500, tree)
	if err != nil {
		t.Fatal(err)
	}
	if sym.Entries() != len(tree) {
		t.Fatalf("tree: %d entries in L, want %d (no fill)", sym.Entries(), len(tree))
	}
}

func TestNotPositiveDefinite(t *testing.T) {
	sym, slots, err := Analyze(3, []Edge{{0, 1}, {1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	c := sym.NewCholesky()
	// Laplacian of a path: singular (constant vector in its null space).
	for i, d := range []float64{1, 2, 1} {
		c.AddDiag(i, d)
	}
	for _, s := range slots {
		c.AddOff(s, -1)
	}
	err = c.Factorize()
	var npd *NotPositiveDefiniteError
	if !errors.As(err, &npd) {
		t.Fatalf("got %v, want NotPositiveDefiniteError", err)
	}
	if npd.Row < 0 || npd.Row > 2 {
		t.Fatalf("bad row %d", npd.Row)
	}
}

func TestAnalyzeRejectsBadEdges(t *testing.T) {
	for _, edges := range [][]Edge{{{0, 0}}, {{0, 3}}, {{-1, 1}}} {
		if _, _, err := Analyze(3, edges); err == nil {
			t.Errorf("edges %v accepted", edges)
		}
	}
}

func TestParallelEdgesShareSlot(t *testing.T) {
	_, slots, err := Analyze(3, []Edge{{0, 1}, {1, 0}, {1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if slots[0] != slots[1] || slots[0] == slots[2] {
		t.Fatalf("slots %v: parallel edges must share, others must not", slots)
	}
}

// gridEdges returns the edges of a k×k grid graph.
func gridEdges(k int) []Edge {
	var edges []Edge
	for r := range k {
		for c := range k {
			if c+1 < k {
				edges = append(edges, Edge{r*k + c, r*k + c + 1})
			}
			if r+1 < k {
				edges = append(edges, Edge{r*k + c, (r+1)*k + c})
			}
		}
	}
	return edges
}

func BenchmarkFactorizeSolveGrid(b *testing.B) {
	const k = 100
	sym, slots, err := Analyze(k*k, gridEdges(k))
	if err != nil {
		b.Fatal(err)
	}
	c := sym.NewCholesky()
	b.ReportAllocs()
	for b.Loop() {
		c.Zero()
		for i := range k * k {
			c.AddDiag(i, 4.5)
			c.AddRHS(i, 1)
		}
		for _, s := range slots {
			c.AddOff(s, -1)
		}
		if err := c.Factorize(); err != nil {
			b.Fatal(err)
		}
		c.Solve()
	}
}

func BenchmarkAnalyzeGrid(b *testing.B) {
	edges := gridEdges(100)
	for b.Loop() {
		if _, _, err := Analyze(100*100, edges); err != nil {
			b.Fatal(err)
		}
	}
}
