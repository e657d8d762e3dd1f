package reuse

import (
	"fmt"
	"math"
	"sort"
)

// Range is an allowed interval of a quality parameter; nil bounds are open.
type Range struct {
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
}

// Holds reports whether v lies in the range.
func (r Range) Holds(v float64) bool {
	return !math.IsNaN(v) && (r.Min == nil || v >= *r.Min) && (r.Max == nil || v <= *r.Max)
}

// Classes are quality classes: class → parameter → range (data/quality_classes.csv).
type Classes map[string]map[string]Range

// LoadClasses parses the embedded quality classes.
func LoadClasses() (Classes, error) {
	h, rows, err := readCSV("quality_classes.csv")
	if err != nil {
		return nil, err
	}
	c := Classes{}
	for i, r := range rows {
		var rg Range
		for _, col := range []string{"min", "max"} {
			s := r[h[col]]
			if s == "" {
				continue
			}
			var v float64
			if _, err := fmt.Sscan(s, &v); err != nil {
				return nil, fmt.Errorf("quality_classes.csv row %d %s: %w", i+1, col, err)
			}
			if col == "min" {
				rg.Min = &v
			} else {
				rg.Max = &v
			}
		}
		cl := r[h["class"]]
		if c[cl] == nil {
			c[cl] = map[string]Range{}
		}
		c[cl][r[h["parameter"]]] = rg
	}
	return c, nil
}

// meets reports whether quality q satisfies every limit; a parameter the limits name but q
// lacks fails (compliance must be shown, not assumed).
func meets(q map[string]float64, limits map[string]Range) (bool, string) {
	keys := make([]string, 0, len(limits))
	for k := range limits {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, ok := q[k]
		if !ok {
			return false, k + " not measured"
		}
		if !limits[k].Holds(v) {
			return false, fmt.Sprintf("%s %g out of range", k, v)
		}
	}
	return true, ""
}

// Classify lists the classes whose limits the quality q meets, sorted by name.
func (c Classes) Classify(q map[string]float64) []string {
	var out []string
	for name, lim := range c {
		if ok, _ := meets(q, lim); ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Stream is a treated-water source: RO permeate, UF filtrate, filter effluent, a blend …
type Stream struct {
	Name    string
	Flow    float64 // m³/h available
	Quality map[string]float64
}

// Use is a production use of reclaimed water.
type Use struct {
	Name     string
	Demand   float64 // m³/h
	Priority int     // lower is served first
	Class    string  // required quality class ("" for none)
	Limits   map[string]Range
}

// Allocation sends Flow m³/h of a stream to a use.
type Allocation struct {
	Stream, Use string
	Flow        float64
}

// Routing is the answer of Route.
type Routing struct {
	Allocations []Allocation
	Unmet       map[string]float64  // use → demand not covered (to be met with fresh water)
	Surplus     map[string]float64  // stream → flow not used
	Ineligible  map[string][]string // use → why each stream was refused ("stream: reason")
}

// Route allocates streams to uses. Uses are served by priority; among the streams that meet
// a use's class and own limits, the one meeting the fewest classes (the lowest grade) is used
// first, so premium water stays available for the strict uses that follow.
func (c Classes) Route(streams []Stream, uses []Use) (Routing, error) {
	rt := Routing{Unmet: map[string]float64{}, Surplus: map[string]float64{}, Ineligible: map[string][]string{}}
	left := map[string]float64{}
	grade := map[string]int{}
	for _, s := range streams {
		if !(s.Flow >= 0) || math.IsInf(s.Flow, 0) {
			return rt, fmt.Errorf("stream %s: flow %g invalid", s.Name, s.Flow)
		}
		if _, dup := left[s.Name]; dup {
			return rt, fmt.Errorf("stream %s listed twice", s.Name)
		}
		left[s.Name] = s.Flow
		grade[s.Name] = len(c.Classify(s.Quality))
	}
	order := append([]Use(nil), uses...)
	sort.SliceStable(order, func(i, j int) bool { return order[i].Priority < order[j].Priority })
	for _, u := range order {
		if !(u.Demand >= 0) || math.IsInf(u.Demand, 0) {
			return rt, fmt.Errorf("use %s: demand %g invalid", u.Name, u.Demand)
		}
		var limits map[string]Range
		if u.Class != "" {
			cl, ok := c[u.Class]
			if !ok {
				return rt, fmt.Errorf("use %s: unknown quality class %q", u.Name, u.Class)
			}
			limits = cl
		}
		var eligible []Stream
		for _, s := range streams {
			ok, why := meets(s.Quality, limits)
			if ok {
				ok, why = meets(s.Quality, u.Limits)
			}
			if !ok {
				rt.Ineligible[u.Name] = append(rt.Ineligible[u.Name], s.Name+": "+why)
				continue
			}
			eligible = append(eligible, s)
		}
		sort.SliceStable(eligible, func(i, j int) bool { return grade[eligible[i].Name] < grade[eligible[j].Name] })
		need := u.Demand
		for _, s := range eligible {
			if need <= 0 {
				break
			}
			take := math.Min(need, left[s.Name])
			if take <= 0 {
				continue
			}
			left[s.Name] -= take
			need -= take
			rt.Allocations = append(rt.Allocations, Allocation{Stream: s.Name, Use: u.Name, Flow: take})
		}
		if need > 1e-12 {
			rt.Unmet[u.Name] = need
		}
	}
	for _, s := range streams {
		if left[s.Name] > 1e-12 {
			rt.Surplus[s.Name] = left[s.Name]
		}
	}
	return rt, nil
}
