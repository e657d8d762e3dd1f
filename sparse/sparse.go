package sparse

import (
	"fmt"
	"math"
	"sort"
)

// Edge is an off-diagonal non-zero a_ij = a_ji of a symmetric matrix,
// given by its two (distinct) original row indices. Parallel edges (the
// same pair twice) share one entry of the factor.
type Edge struct{ I, J int }

// Symbolic is the fill-reducing ordering and the structure of the Cholesky
// factor L of a symmetric matrix. It holds no values and never changes
// after Analyze, so any number of Cholesky workspaces may share it.
type Symbolic struct {
	// N is the order of the matrix.
	N int
	// Pivot[i] is the position of original row i in the factor.
	Pivot []int32
	// Order[k] is the original row eliminated at step k (Pivot's inverse).
	Order []int32
	// ColStart[k]..ColStart[k+1]-1 index the strictly lower entries of
	// column k of L in RowIndex (ascending) and in Cholesky.Lower.
	ColStart []int32
	// RowIndex holds, for every strictly lower entry of L, its row in pivot
	// order.
	RowIndex []int32

	// The left-looking schedule: column j is updated by the entries
	// updPos[updStart[j]:updStart[j+1]] (each l_jk, in the order George
	// and Liu's linked lists visit them), each followed in its column by
	// the entries up to updEnd.
	updStart []int32
	updPos   []int32
	updEnd   []int32
}

// Entries returns the number of strictly lower non-zeros of L, fill-in
// included.
func (s *Symbolic) Entries() int { return len(s.RowIndex) }

// Analyze orders the rows of an n×n symmetric matrix whose off-diagonal
// non-zeros are edges, and computes the structure of its Cholesky factor.
// It returns the structure and, for each edge, the index of its entry in
// Cholesky.Lower.
func Analyze(n int, edges []Edge) (*Symbolic, []int32, error) {
	return analyze(n, edges, nil)
}

// AnalyzeOrdered is Analyze with a caller-supplied elimination order
// (order[k] = row eliminated at step k, a permutation of 0..n-1), e.g. to
// reproduce another solver's factorisation exactly.
func AnalyzeOrdered(n int, edges []Edge, order []int) (*Symbolic, []int32, error) {
	if len(order) != n {
		return nil, nil, fmt.Errorf("sparse: order has %d rows, matrix %d", len(order), n)
	}
	seen := make([]bool, n)
	for _, r := range order {
		if r < 0 || r >= n || seen[r] {
			return nil, nil, fmt.Errorf("sparse: order is not a permutation of 0..%d", n-1)
		}
		seen[r] = true
	}
	return analyze(n, edges, order)
}

func analyze(n int, edges []Edge, given []int) (*Symbolic, []int32, error) {
	for e, ed := range edges {
		if ed.I < 0 || ed.I >= n || ed.J < 0 || ed.J >= n {
			return nil, nil, fmt.Errorf("sparse: edge %d (%d,%d) outside a %d×%d matrix", e, ed.I, ed.J, n, n)
		}
		if ed.I == ed.J {
			return nil, nil, fmt.Errorf("sparse: edge %d joins row %d to itself", e, ed.I)
		}
	}
	lists := adjacencyLists(n, edges)
	var order []int32
	if given != nil {
		order = make([]int32, n)
		for k, r := range given {
			order[k] = int32(r)
		}
	} else {
		order = multipleMinimumDegree(lists)
	}
	columns := eliminate(lists, order)
	s := &Symbolic{N: n, Pivot: make([]int32, n), Order: order, ColStart: make([]int32, n+1)}
	for k, row := range order {
		s.Pivot[row] = int32(k)
	}
	total := 0
	for _, c := range columns {
		total += len(c)
	}
	s.RowIndex = make([]int32, 0, total)
	for k, c := range columns {
		start := len(s.RowIndex)
		for _, row := range c {
			s.RowIndex = append(s.RowIndex, s.Pivot[row])
		}
		col := s.RowIndex[start:]
		sort.Slice(col, func(a, b int) bool { return col[a] < col[b] })
		s.ColStart[k+1] = int32(len(s.RowIndex))
	}
	s.schedule()
	slots := make([]int32, len(edges))
	for e, ed := range edges {
		slot, ok := s.slot(s.Pivot[ed.I], s.Pivot[ed.J])
		if !ok {
			return nil, nil, fmt.Errorf("sparse: internal error: edge (%d,%d) missing from the factor", ed.I, ed.J)
		}
		slots[e] = slot
	}
	return s, slots, nil
}

// schedule replays the linked lists of the left-looking factorisation
// (GSFCT) symbolically, recording for every column the entries that update
// it in the order the lists would deliver them, so that Factorize does the
// same arithmetic in the same order without maintaining the lists.
func (s *Symbolic) schedule() {
	n := s.N
	link := make([]int32, n)
	first := make([]int32, n)
	for j := range link {
		link[j] = -1
	}
	s.updStart = make([]int32, n+1)
	s.updPos = make([]int32, 0, len(s.RowIndex))
	s.updEnd = make([]int32, 0, len(s.RowIndex))
	for j := range n {
		for k := link[j]; k >= 0; {
			next := link[k]
			f := first[k]
			stop := s.ColStart[k+1]
			s.updPos = append(s.updPos, f)
			s.updEnd = append(s.updEnd, stop)
			if f+1 < stop {
				first[k] = f + 1
				r := s.RowIndex[f+1]
				link[k] = link[r]
				link[r] = int32(k)
			}
			k = next
		}
		s.updStart[j+1] = int32(len(s.updPos))
		if start := s.ColStart[j]; start < s.ColStart[j+1] {
			first[j] = start
			r := s.RowIndex[start]
			link[j] = link[r]
			link[r] = int32(j)
		}
	}
}

// adjacencyLists lists each row's neighbours, most recent edge first
// (the order in which linked adjacency lists are built by prepending);
// a repeated pair keeps the position of its first edge.
func adjacencyLists(n int, edges []Edge) [][]int32 {
	lists := make([][]int32, n)
	seen := map[[2]int32]bool{}
	for _, e := range edges {
		i, j := int32(e.I), int32(e.J)
		key := [2]int32{min(i, j), max(i, j)}
		if seen[key] {
			continue
		}
		seen[key] = true
		lists[i] = append(lists[i], j)
		lists[j] = append(lists[j], i)
	}
	for _, l := range lists {
		for a, b := 0, len(l)-1; a < b; a, b = a+1, b-1 {
			l[a], l[b] = l[b], l[a]
		}
	}
	return lists
}

// eliminate performs the symbolic factorisation: it eliminates the rows in
// the given order on an explicit elimination graph, where eliminating a
// row joins its remaining neighbours pairwise (the fill-in). Column k of L
// has a non-zero in every row adjacent to order[k] when it is eliminated.
func eliminate(lists [][]int32, order []int32) [][]int32 {
	n := len(lists)
	adj := make([][]int32, n)
	for i, l := range lists {
		adj[i] = append([]int32(nil), l...)
	}
	eliminated := make([]bool, n)
	// mark[w] == stamp means w is already adjacent to the row being joined.
	mark := make([]int, n)
	stamp := 0
	columns := make([][]int32, n)
	for k, v := range order {
		var nbrs []int32
		for _, w := range adj[v] {
			if !eliminated[w] {
				nbrs = append(nbrs, w)
			}
		}
		adj[v] = nil
		eliminated[v] = true
		columns[k] = nbrs
		for _, u := range nbrs {
			stamp++
			for _, w := range adj[u] {
				mark[w] = stamp
			}
			for _, w := range nbrs {
				if w != u && mark[w] != stamp {
					adj[u] = append(adj[u], w)
				}
			}
		}
	}
	return columns
}

// NotPositiveDefiniteError reports a pivot that was not positive during
// factorisation: the matrix is singular or indefinite, for a network
// usually because part of it has lost every connection to a fixed head.
type NotPositiveDefiniteError struct {
	// Row is the original row whose pivot failed.
	Row int
	// Value is the non-positive pivot found.
	Value float64
}

// Error names the row and the pivot found.
func (e *NotPositiveDefiniteError) Error() string {
	return fmt.Sprintf("sparse: matrix not positive definite at row %d (pivot %g)", e.Row, e.Value)
}

// Cholesky is the numerical workspace for one matrix with a given
// Symbolic structure. Fill Diag, Lower and RHS (all in pivot order), call
// Factorize, then Solve; RHS then holds the solution in pivot order.
type Cholesky struct {
	sym *Symbolic
	// Diag holds a_kk on entry and l_kk after Factorize.
	Diag []float64
	// Lower holds the strictly lower entries of A (zero at fill-in
	// positions) on entry and those of L after Factorize.
	Lower []float64
	// RHS holds b on entry to Solve and x on return.
	RHS []float64

	// Workspace of the left-looking factorisation.
	temp []float64
}

// NewCholesky allocates a numerical workspace for matrices with structure s.
func (s *Symbolic) NewCholesky() *Cholesky {
	return &Cholesky{
		sym:   s,
		Diag:  make([]float64, s.N),
		Lower: make([]float64, len(s.RowIndex)),
		RHS:   make([]float64, s.N),
		temp:  make([]float64, s.N),
	}
}

// Symbolic returns the structure the workspace was made for.
func (c *Cholesky) Symbolic() *Symbolic { return c.sym }

// Zero clears the matrix and the right-hand side.
func (c *Cholesky) Zero() {
	clear(c.Diag)
	clear(c.Lower)
	clear(c.RHS)
}

// AddDiag adds v to a_ii for original row i.
func (c *Cholesky) AddDiag(i int, v float64) { c.Diag[c.sym.Pivot[i]] += v }

// AddOff adds v to the off-diagonal entry whose slot Analyze returned.
func (c *Cholesky) AddOff(slot int32, v float64) { c.Lower[slot] += v }

// AddRHS adds v to b_i for original row i.
func (c *Cholesky) AddRHS(i int, v float64) { c.RHS[c.sym.Pivot[i]] += v }

// Solution returns x_i for original row i after Solve.
func (c *Cholesky) Solution(i int) float64 { return c.RHS[c.sym.Pivot[i]] }

// Factorize overwrites Diag and Lower with L, where A = L·Lᵀ. It fails
// with *NotPositiveDefiniteError at the first non-positive pivot, leaving
// the workspace partly factorised.
func (c *Cholesky) Factorize() error {
	s := c.sym
	n := s.N
	colStart, rowIndex := s.ColStart, s.RowIndex
	updStart, updPos, updEnd := s.updStart, s.updPos, s.updEnd
	lower, diag, temp := c.Lower, c.Diag, c.temp
	for j := range n {
		// Columns k < j with l_jk ≠ 0 subtract their outer products from
		// column j; Σ l_jk² is accumulated first and subtracted once, so
		// that the rounding is that of the classic GSFCT routine.
		sum := 0.0
		for u := updStart[j]; u < updStart[j+1]; u++ {
			f, stop := updPos[u], updEnd[u]
			ljk := lower[f]
			sum += ljk * ljk
			rows := rowIndex[f+1 : stop]
			vals := lower[f+1 : stop]
			vals = vals[:len(rows)]
			for i, r := range rows {
				temp[r] += vals[i] * ljk
			}
		}
		d := diag[j] - sum
		if !(d > 0) {
			return &NotPositiveDefiniteError{Row: int(s.Order[j]), Value: d}
		}
		d = math.Sqrt(d)
		diag[j] = d
		start, stop := colStart[j], colStart[j+1]
		rows := rowIndex[start:stop]
		vals := lower[start:stop]
		vals = vals[:len(rows)]
		for i, r := range rows {
			vals[i] = (vals[i] - temp[r]) / d
			temp[r] = 0
		}
	}
	return nil
}

// Solve replaces RHS by the solution of L·Lᵀ·x = RHS using the factor left
// by Factorize.
func (c *Cholesky) Solve() {
	s := c.sym
	colStart, rowIndex := s.ColStart, s.RowIndex
	lower, diag, b := c.Lower, c.Diag, c.RHS
	n := s.N
	b = b[:n]
	diag = diag[:n]
	for j := range n {
		bj := b[j] / diag[j]
		b[j] = bj
		rows := rowIndex[colStart[j]:colStart[j+1]]
		vals := lower[colStart[j]:colStart[j+1]]
		vals = vals[:len(rows)]
		for i, r := range rows {
			b[r] -= vals[i] * bj
		}
	}
	for j := n - 1; j >= 0; j-- {
		bj := b[j]
		rows := rowIndex[colStart[j]:colStart[j+1]]
		vals := lower[colStart[j]:colStart[j+1]]
		vals = vals[:len(rows)]
		for i, r := range rows {
			bj -= vals[i] * b[r]
		}
		b[j] = bj / diag[j]
	}
}

// slot finds the entry of L at pivot positions (a, b) in either order.
func (s *Symbolic) slot(a, b int32) (int32, bool) {
	col, row := a, b
	if col > row {
		col, row = row, col
	}
	lo, hi := int(s.ColStart[col]), int(s.ColStart[col+1])
	idx := s.RowIndex[lo:hi]
	k := sort.Search(len(idx), func(i int) bool { return idx[i] >= row })
	if k < len(idx) && idx[k] == row {
		return int32(lo + k), true
	}
	return 0, false
}
