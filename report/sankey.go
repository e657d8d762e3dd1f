package report

import (
	"math"
	"sort"

	"github.com/shuixiao/shuixiao/balance"
)

// placedNode is a Sankey node with its column and rectangle.
type placedNode struct {
	balance.Node
	col        int
	value      float64 // max(Σ in, Σ out)
	x, y, w, h float64
}

// band is a link drawn from the right edge of its source to the left edge
// of its target: the top of its two ends and its thickness.
type band struct {
	link           balance.Link
	x0, y0, x1, y1 float64
	thick          float64
	kind           string // the source node's kind, for the colour
}

// sankeyLayout is a diagram placed in a w × h box.
type sankeyLayout struct {
	nodes []placedNode
	bands []band
}

const (
	nodeWidth = 0.025 // of the box width
	nodeGap   = 0.04  // of the box height, between nodes of a column
	minNode   = 0.004 // of the box height: the thinnest node still drawn
)

// layoutSankey places a diagram: each node in the column of its longest
// path from a source, sources just left of their first target, sinks in the
// last column; node heights proportional to their flow on one scale for the
// whole diagram; links stacked on their nodes in the order of the nodes
// they join, so bands do not cross needlessly.
func layoutSankey(sk balance.Sankey, w, h float64) sankeyLayout {
	idx := map[string]int{}
	nodes := make([]placedNode, len(sk.Nodes))
	for i, n := range sk.Nodes {
		idx[n.Name] = i
		nodes[i].Node = n
	}
	var links []balance.Link
	in := make([]float64, len(nodes))
	out := make([]float64, len(nodes))
	hasIn := make([]bool, len(nodes))
	hasOut := make([]bool, len(nodes))
	for _, l := range sk.Links {
		s, okS := idx[l.Source]
		t, okT := idx[l.Target]
		if !okS || !okT || !(l.Value > 0) {
			continue
		}
		links = append(links, l)
		out[s] += l.Value
		in[t] += l.Value
		hasOut[s], hasIn[t] = true, true
	}
	// Longest path from a source; Diagram is acyclic, and the loop is
	// bounded by the node count in case a caller's diagram is not.
	for range nodes {
		changed := false
		for _, l := range links {
			s, t := idx[l.Source], idx[l.Target]
			if nodes[t].col < nodes[s].col+1 && nodes[s].col+1 < len(nodes) {
				nodes[t].col = nodes[s].col + 1
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	last := 0
	for i := range nodes {
		last = max(last, nodes[i].col)
	}
	for i := range nodes {
		switch {
		case !hasOut[i] && hasIn[i]:
			nodes[i].col = last
		case !hasIn[i] && hasOut[i]:
			first := last
			for _, l := range links {
				if idx[l.Source] == i {
					first = min(first, nodes[idx[l.Target]].col)
				}
			}
			nodes[i].col = max(first-1, 0)
		}
		nodes[i].value = math.Max(in[i], out[i])
	}
	cols := make([][]int, last+1)
	for i, n := range nodes {
		if n.value > 0 {
			cols[n.col] = append(cols[n.col], i)
		}
	}
	// One scale: the fullest column fills the height less its gaps.
	scale := math.Inf(1)
	for _, c := range cols {
		var sum float64
		for _, i := range c {
			sum += nodes[i].value
		}
		if sum > 0 {
			scale = math.Min(scale, h*(1-nodeGap*float64(len(c)-1))/sum)
		}
	}
	if math.IsInf(scale, 1) {
		return sankeyLayout{}
	}
	nw := w * nodeWidth
	colStep := 0.0
	if last > 0 {
		colStep = (w - nw) / float64(last)
	}
	for c, members := range cols {
		y := 0.0
		for _, i := range members {
			n := &nodes[i]
			n.x, n.y, n.w = float64(c)*colStep, y, nw
			n.h = math.Max(n.value*scale, h*minNode)
			y += n.h + h*nodeGap
		}
	}
	// Stack each node's links by the vertical order of the other end.
	outLinks := make([][]int, len(nodes))
	inLinks := make([][]int, len(nodes))
	for k, l := range links {
		outLinks[idx[l.Source]] = append(outLinks[idx[l.Source]], k)
		inLinks[idx[l.Target]] = append(inLinks[idx[l.Target]], k)
	}
	bands := make([]band, len(links))
	for k, l := range links {
		s := nodes[idx[l.Source]]
		bands[k] = band{link: l, x0: s.x + s.w, x1: nodes[idx[l.Target]].x, thick: l.Value * scale, kind: s.Kind}
	}
	for i := range nodes {
		sort.SliceStable(outLinks[i], func(a, b int) bool {
			return nodes[idx[links[outLinks[i][a]].Target]].y < nodes[idx[links[outLinks[i][b]].Target]].y
		})
		sort.SliceStable(inLinks[i], func(a, b int) bool {
			return nodes[idx[links[inLinks[i][a]].Source]].y < nodes[idx[links[inLinks[i][b]].Source]].y
		})
		y := nodes[i].y
		for _, k := range outLinks[i] {
			bands[k].y0 = y
			y += bands[k].thick
		}
		y = nodes[i].y
		for _, k := range inLinks[i] {
			bands[k].y1 = y
			y += bands[k].thick
		}
	}
	return sankeyLayout{nodes: nodes, bands: bands}
}

// kindColour is the colour of a node kind and of the bands leaving it.
func kindColour(kind string) (r, g, b int) {
	switch kind {
	case "source":
		return 31, 119, 180
	case "boundary":
		return 23, 75, 140
	case "unit":
		return 44, 160, 44
	case "reuse-in", "reuse-out":
		return 148, 103, 189
	case "discharge":
		return 140, 86, 75
	case "consumption":
		return 255, 127, 14
	case "unaccounted":
		return 214, 39, 40
	}
	return 127, 127, 127
}
