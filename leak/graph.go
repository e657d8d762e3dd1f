package leak

import (
	"container/heap"
	"fmt"
	"math"
)

// GraphLink is one link of a network as the pipe graph needs it.
type GraphLink struct {
	ID       string
	From, To string
	// Length is the pipe length in metres (ignored for pumps and valves).
	Length float64
	// IsPipe is false for pumps and valves: BattLeDIM's distance walks
	// over pipes only, so they are not edges of the graph.
	IsPipe bool
}

// PipeGraph is a network's pipe graph: nodes joined by pipes weighted with
// their lengths. It answers the BattLeDIM pipe-to-pipe distance.
type PipeGraph struct {
	nodeIDs   []string
	nodeIndex map[string]int
	links     []graphLink
	linkIndex map[string]int
	adjacency [][]graphEdge
}

type graphLink struct {
	id       string
	from, to int
	length   float64
	isPipe   bool
}

type graphEdge struct {
	to     int
	length float64
}

// NewPipeGraph builds the graph of the given links. Every link gets an
// entry (pumps and valves included, so that they can be named in reports)
// but only pipes become edges. It fails on duplicate link IDs and on pipe
// lengths that are negative or not finite.
func NewPipeGraph(links []GraphLink) (*PipeGraph, error) {
	g := &PipeGraph{nodeIndex: map[string]int{}, linkIndex: map[string]int{}}
	node := func(id string) int {
		if i, ok := g.nodeIndex[id]; ok {
			return i
		}
		g.nodeIndex[id] = len(g.nodeIDs)
		g.nodeIDs = append(g.nodeIDs, id)
		g.adjacency = append(g.adjacency, nil)
		return len(g.nodeIDs) - 1
	}
	for _, l := range links {
		if l.ID == "" || l.From == "" || l.To == "" {
			return nil, fmt.Errorf("pipe graph: link %q has an empty ID or end node", l.ID)
		}
		if _, dup := g.linkIndex[l.ID]; dup {
			return nil, fmt.Errorf("pipe graph: duplicate link %q", l.ID)
		}
		length := l.Length
		if !l.IsPipe {
			length = 0
		} else if length < 0 || math.IsNaN(length) || math.IsInf(length, 0) {
			return nil, fmt.Errorf("pipe graph: pipe %q has invalid length %v", l.ID, l.Length)
		}
		from, to := node(l.From), node(l.To)
		g.linkIndex[l.ID] = len(g.links)
		g.links = append(g.links, graphLink{id: l.ID, from: from, to: to, length: length, isPipe: l.IsPipe})
		if l.IsPipe {
			g.adjacency[from] = append(g.adjacency[from], graphEdge{to, length})
			g.adjacency[to] = append(g.adjacency[to], graphEdge{from, length})
		}
	}
	return g, nil
}

// HasLink reports whether the graph has a link with this ID.
func (g *PipeGraph) HasLink(id string) bool {
	_, ok := g.linkIndex[id]
	return ok
}

// HasNode reports whether some link ends at the node with this ID.
func (g *PipeGraph) HasNode(id string) bool {
	_, ok := g.nodeIndex[id]
	return ok
}

// LinkIDs returns the IDs of all links in the order they were given.
func (g *PipeGraph) LinkIDs() []string {
	ids := make([]string, len(g.links))
	for i, l := range g.links {
		ids[i] = l.id
	}
	return ids
}

// LinkEnds returns the IDs of a link's end nodes.
func (g *PipeGraph) LinkEnds(id string) (from, to string, ok bool) {
	i, ok := g.linkIndex[id]
	if !ok {
		return "", "", false
	}
	return g.nodeIDs[g.links[i].from], g.nodeIDs[g.links[i].to], true
}

// Distance is BattLeDIM's distance in metres between two links: 0 for the
// same link, otherwise the shortest over the four pairs of end nodes of
// the pipe-only path length between them, plus half of each link's length
// (pumps and valves count as length 0). It is +Inf when no pipe path joins
// them and an error when a link is unknown.
func (g *PipeGraph) Distance(a, b string) (float64, error) {
	ia, ok := g.linkIndex[a]
	if !ok {
		return 0, fmt.Errorf("pipe graph: unknown link %q", a)
	}
	ib, ok := g.linkIndex[b]
	if !ok {
		return 0, fmt.Errorf("pipe graph: unknown link %q", b)
	}
	if ia == ib {
		return 0, nil
	}
	dist := g.shortestPaths(g.links[ia].from, g.links[ia].to)
	return g.linkDistance(ia, ib, dist), nil
}

// DistancesFrom returns Distance(a, l) for every link l, indexed like
// LinkIDs; one shortest-path pass serves them all.
func (g *PipeGraph) DistancesFrom(a string) ([]float64, error) {
	ia, ok := g.linkIndex[a]
	if !ok {
		return nil, fmt.Errorf("pipe graph: unknown link %q", a)
	}
	dist := g.shortestPaths(g.links[ia].from, g.links[ia].to)
	out := make([]float64, len(g.links))
	for ib := range g.links {
		if ib != ia {
			out[ib] = g.linkDistance(ia, ib, dist)
		}
	}
	return out, nil
}

// linkDistance combines shortest paths from a's two end nodes (dist[0]
// from a.from, dist[1] from a.to) into the distance to b.
func (g *PipeGraph) linkDistance(ia, ib int, dist [2][]float64) float64 {
	la, lb := g.links[ia], g.links[ib]
	best := math.Inf(1)
	for _, d := range dist {
		best = min(best, d[lb.from], d[lb.to])
	}
	return best + la.length/2 + lb.length/2
}

// shortestPaths runs Dijkstra from each of two source nodes.
func (g *PipeGraph) shortestPaths(s1, s2 int) [2][]float64 {
	return [2][]float64{g.dijkstra(s1), g.dijkstra(s2)}
}

func (g *PipeGraph) dijkstra(source int) []float64 {
	dist := make([]float64, len(g.nodeIDs))
	for i := range dist {
		dist[i] = math.Inf(1)
	}
	dist[source] = 0
	q := &nodeQueue{{source, 0}}
	for q.Len() > 0 {
		it := heap.Pop(q).(queued)
		if it.dist > dist[it.node] {
			continue
		}
		for _, e := range g.adjacency[it.node] {
			if d := it.dist + e.length; d < dist[e.to] {
				dist[e.to] = d
				heap.Push(q, queued{e.to, d})
			}
		}
	}
	return dist
}

type queued struct {
	node int
	dist float64
}

type nodeQueue []queued

func (q nodeQueue) Len() int           { return len(q) }
func (q nodeQueue) Less(i, j int) bool { return q[i].dist < q[j].dist }
func (q nodeQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *nodeQueue) Push(x any)        { *q = append(*q, x.(queued)) }
func (q *nodeQueue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}

// PipesAt returns the IDs of the pipes that end at a node (no pumps or
// valves), in the order the links were given.
func (g *PipeGraph) PipesAt(node string) []string {
	var out []string
	for _, l := range g.links {
		if l.isPipe && (g.nodeIDs[l.from] == node || g.nodeIDs[l.to] == node) {
			out = append(out, l.id)
		}
	}
	return out
}
