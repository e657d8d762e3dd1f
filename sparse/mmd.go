package sparse

import "math"

// Multiple minimum degree ordering after J. W. H. Liu, "Modification of
// the minimum-degree algorithm by multiple elimination", ACM Trans. Math.
// Software 11(2), 1985, as used (with tolerance δ = −1, i.e. one pivot per
// degree update) by SPARSPAK and EPANET. It works on the quotient graph:
// an eliminated node becomes an "element" standing for the clique of its
// neighbours, so the elimination graph is never formed explicitly;
// indistinguishable nodes are merged into supernodes and the minimum
// external degree is used. Reproducing the published algorithm step for
// step (list order included) yields the same ordering as those codes, and
// therefore a factorisation with the same rounding.
//
// Storage follows the paper: node v's adjacency lives in
// adj[start[v]:start[v+1]] (1-based node numbers); a 0 ends a list early
// and a negative entry −e continues it in the storage of element e, whose
// own list is no longer needed once e is absorbed.

// mmdState holds the working vectors of the ordering (all 1-based).
type mmdState struct {
	n     int
	start []int // xadj
	adj   []int // adjncy (quotient graph storage)
	head  []int // head of the list of nodes of each degree
	// forw and back link the degree lists. forw < 0 marks an eliminated
	// node (−order number) or a node merged into supernode −forw; back < 0
	// at a list head holds −degree, back == 0 flags a node for degree
	// update and back == −maxTag a node outmatched or merged.
	forw, back []int
	qsize      []int // size of the supernode a node represents (0 if merged)
	llist      []int // temporary linked lists
	marker     []int
	tag        int
}

const maxTag = math.MaxInt32

// multipleMinimumDegree returns the elimination order (0-based rows) of
// the graph whose rows have the given adjacency lists (0-based, no
// duplicates, no self loops). List order breaks ties.
func multipleMinimumDegree(lists [][]int32) []int32 {
	n := len(lists)
	if n == 0 {
		return nil
	}
	q := &mmdState{n: n, start: make([]int, n+2)}
	q.start[1] = 1
	for v := 1; v <= n; v++ {
		q.start[v+1] = q.start[v] + len(lists[v-1])
	}
	q.adj = make([]int, q.start[n+1]+1)
	for v := 1; v <= n; v++ {
		for i, w := range lists[v-1] {
			q.adj[q.start[v]+i] = int(w) + 1
		}
	}
	q.head = make([]int, n+2)
	q.forw = make([]int, n+1)
	q.back = make([]int, n+1)
	q.qsize = make([]int, n+1)
	q.llist = make([]int, n+1)
	q.marker = make([]int, n+1)
	q.initDegrees()

	// Isolated nodes (degree list 1, i.e. no neighbours) come first.
	num := 1
	for v := q.head[1]; v > 0; {
		next := q.forw[v]
		q.marker[v] = maxTag
		q.forw[v] = -num
		num++
		v = next
	}
	if num <= n {
		q.tag = 1
		q.head[1] = 0
		mdeg := 2
		for {
			for q.head[mdeg] <= 0 {
				mdeg++
			}
			md := q.head[mdeg]
			next := q.forw[md]
			q.head[mdeg] = next
			if next > 0 {
				q.back[next] = -mdeg
			}
			q.forw[md] = -num
			if num+q.qsize[md] > n {
				break
			}
			q.nextTag()
			q.eliminate(md)
			num += q.qsize[md]
			if num > n {
				break
			}
			// With δ = −1 the "list of new elements" holds md alone.
			q.llist[md] = 0
			q.updateDegrees(md, &mdeg)
		}
	}
	return q.numbering()
}

// initDegrees puts every node in the list of its degree + 1.
func (q *mmdState) initDegrees() {
	for v := 1; v <= q.n; v++ {
		q.qsize[v] = 1
	}
	for v := 1; v <= q.n; v++ {
		d := q.start[v+1] - q.start[v] + 1
		first := q.head[d]
		q.forw[v] = first
		q.head[d] = v
		if first > 0 {
			q.back[first] = v
		}
		q.back[v] = -d
	}
}

// nextTag advances the marker value, clearing markers if it would overflow.
func (q *mmdState) nextTag() {
	q.tag++
	if q.tag < maxTag {
		return
	}
	q.resetMarkers()
}

func (q *mmdState) resetMarkers() {
	q.tag = 1
	for i := 1; i <= q.n; i++ {
		if q.marker[i] < maxTag {
			q.marker[i] = 0
		}
	}
}

// eliminate turns md into an element: its reachable set (uneliminated
// neighbours plus the nodes of adjacent elements) is stored in its own
// list, extended into the storage of the absorbed elements; each node of
// the reachable set loses its links to absorbed elements and gains md, or,
// if nothing else remains, is merged into md.
func (q *mmdState) eliminate(md int) {
	adj, marker, tag := q.adj, q.marker, q.tag
	marker[md] = tag
	first, last := q.start[md], q.start[md+1]-1

	// Uneliminated neighbours are compacted to the front of md's list;
	// adjacent elements are chained through llist.
	elements := 0
	wr, wrEnd := first, last
	for i := first; i <= last; i++ {
		nb := adj[i]
		if nb == 0 {
			break
		}
		if marker[nb] >= tag {
			continue
		}
		marker[nb] = tag
		if q.forw[nb] < 0 {
			q.llist[nb] = elements
			elements = nb
		} else {
			adj[wr] = nb
			wr++
		}
	}

	// Append the nodes of every adjacent element, continuing into the
	// storage of absorbed elements when md's own runs out.
	for e := elements; e > 0; e = q.llist[e] {
		adj[wrEnd] = -e
		q.scanElement(e, func(v int) bool {
			if marker[v] >= tag || q.forw[v] < 0 {
				return true
			}
			marker[v] = tag
			for wr >= wrEnd {
				next := -adj[wrEnd]
				wr, wrEnd = q.start[next], q.start[next+1]-1
			}
			adj[wr] = v
			wr++
			return true
		})
	}
	if wr <= wrEnd {
		adj[wr] = 0
	}

	// Update every node of the reachable set.
	q.scanElement(md, func(r int) bool {
		q.removeFromDegreeList(r)
		a, b := q.start[r], q.start[r+1]-1
		keep := a
		for j := a; j <= b; j++ {
			nb := adj[j]
			if nb == 0 {
				break
			}
			if marker[nb] >= tag {
				continue
			}
			adj[keep] = nb
			keep++
		}
		if keep == a {
			// Only md is left: r is indistinguishable from md.
			q.qsize[md] += q.qsize[r]
			q.qsize[r] = 0
			marker[r] = maxTag
			q.forw[r] = -md
			q.back[r] = -maxTag
			return true
		}
		// Flag r for a degree update; forw holds its number of quotient
		// neighbours (md included) meanwhile.
		q.forw[r] = keep - a + 1
		q.back[r] = 0
		adj[keep] = md
		keep++
		if keep <= b {
			adj[keep] = 0
		}
		return true
	})
}

// scanElement calls visit for each entry of element e's list, following
// continuation links, until the list ends or visit returns false.
func (q *mmdState) scanElement(e int, visit func(v int) bool) {
	link := e
	for {
		first, last := q.start[link], q.start[link+1]-1
		next := 0
		for i := first; i <= last; i++ {
			v := q.adj[i]
			if v < 0 {
				next = -v
				break
			}
			if v == 0 {
				return
			}
			if !visit(v) {
				return
			}
		}
		if next == 0 {
			return
		}
		link = next
	}
}

// removeFromDegreeList unlinks node r if it is in a degree list.
func (q *mmdState) removeFromDegreeList(r int) {
	prev := q.back[r]
	if prev == 0 || prev == -maxTag {
		return
	}
	next := q.forw[r]
	if next > 0 {
		q.back[next] = prev
	}
	if prev > 0 {
		q.forw[prev] = next
	} else {
		q.head[-prev] = next
	}
}

// insertInDegreeList puts node v at the head of the list of degree d.
func (q *mmdState) insertInDegreeList(v, d int) {
	first := q.head[d]
	q.forw[v] = first
	q.back[v] = -d
	if first > 0 {
		q.back[first] = v
	}
	q.head[d] = v
}

// updateDegrees recomputes the external degree of every node flagged by
// eliminating element e, merging indistinguishable nodes met on the way,
// and lowers *mdeg if a smaller degree appears.
func (q *mmdState) updateDegrees(e int, mdeg *int) {
	marker := q.marker
	mdeg0 := *mdeg - 1 // mdeg + δ
	mtag := q.tag + mdeg0
	if mtag >= maxTag {
		q.resetMarkers()
		mtag = q.tag + mdeg0
	}
	// Split the element's flagged nodes into those with exactly two
	// quotient neighbours (e and one other) and the rest; deg0 is the
	// element's size.
	q2, qx, deg0 := 0, 0, 0
	q.scanElement(e, func(v int) bool {
		if q.qsize[v] == 0 {
			return true
		}
		deg0 += q.qsize[v]
		marker[v] = mtag
		if q.back[v] != 0 {
			return true
		}
		if q.forw[v] == 2 {
			q.llist[v] = q2
			q2 = v
		} else {
			q.llist[v] = qx
			qx = v
		}
		return true
	})

	for v := q2; v > 0; v = q.llist[v] {
		if q.back[v] != 0 {
			continue
		}
		q.tag++
		tag := q.tag
		deg := deg0
		other := q.adj[q.start[v]]
		if other == e {
			other = q.adj[q.start[v]+1]
		}
		if q.forw[other] >= 0 {
			deg += q.qsize[other]
		} else {
			// The other neighbour is an element: count its nodes, merging
			// those that, like v, touch only e and it.
			q.scanElementUntil(other, v, func(w int) {
				if q.qsize[w] == 0 {
					return
				}
				if marker[w] < tag {
					marker[w] = tag
					deg += q.qsize[w]
					return
				}
				if q.back[w] != 0 {
					return
				}
				if q.forw[w] == 2 {
					q.qsize[v] += q.qsize[w]
					q.qsize[w] = 0
					marker[w] = maxTag
					q.forw[w] = -v
					q.back[w] = -maxTag
					return
				}
				q.back[w] = -maxTag // outmatched by v
			})
		}
		q.setDegree(v, deg, mdeg)
	}

	for v := qx; v > 0; v = q.llist[v] {
		if q.back[v] != 0 {
			continue
		}
		q.tag++
		tag := q.tag
		deg := deg0
		for i := q.start[v]; i < q.start[v+1]; i++ {
			nb := q.adj[i]
			if nb == 0 {
				break
			}
			if marker[nb] >= tag {
				continue
			}
			marker[nb] = tag
			if q.forw[nb] >= 0 {
				deg += q.qsize[nb]
				continue
			}
			q.scanElement(nb, func(w int) bool {
				if marker[w] < tag {
					marker[w] = tag
					deg += q.qsize[w]
				}
				return true
			})
		}
		q.setDegree(v, deg, mdeg)
	}
	q.tag = mtag
}

// scanElementUntil visits the nodes of element e except skip, following
// continuation links (the list walk of the two-neighbour case).
func (q *mmdState) scanElementUntil(e, skip int, visit func(w int)) {
	q.scanElement(e, func(w int) bool {
		if w != skip {
			visit(w)
		}
		return true
	})
}

// setDegree files v under its external degree and updates the minimum.
func (q *mmdState) setDegree(v, deg int, mdeg *int) {
	deg = deg - q.qsize[v] + 1
	q.insertInDegreeList(v, deg)
	if deg < *mdeg {
		*mdeg = deg
	}
}

// numbering turns elimination numbers (and merges into supernodes) into
// the final order: merged nodes follow their representative.
func (q *mmdState) numbering() []int32 {
	n := q.n
	perm := make([]int, n+1)
	invp := q.forw
	for v := 1; v <= n; v++ {
		if q.qsize[v] <= 0 {
			perm[v] = invp[v]
		} else {
			perm[v] = -invp[v]
		}
	}
	for v := 1; v <= n; v++ {
		if perm[v] > 0 {
			continue
		}
		root := v
		for perm[root] <= 0 {
			root = -perm[root]
		}
		num := perm[root] + 1
		invp[v] = -num
		perm[root] = num
		for f := v; ; {
			next := -perm[f]
			if next <= 0 {
				break
			}
			perm[f] = -root
			f = next
		}
	}
	order := make([]int32, n)
	for v := 1; v <= n; v++ {
		order[-invp[v]-1] = int32(v - 1)
	}
	return order
}
