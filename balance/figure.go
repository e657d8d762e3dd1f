package balance

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Figure is one figure of a balance with its coverage: the points whose
// volumes it was computed from and the points it needed that had none. A
// figure a missing point would change is absent (OK false) with Note
// saying why — never a silent zero.
type Figure struct {
	Value   float64
	OK      bool
	Points  []string // points that contributed
	Missing []string // points the figure needs that have no volume
	Note    string   // why the figure is absent, or how it was derived
}

// known returns a present figure.
func known(v float64, note string) Figure { return Figure{Value: v, OK: true, Note: note} }

// absent returns a figure that cannot be given, and why.
func absent(format string, a ...any) Figure { return Figure{Note: fmt.Sprintf(format, a...)} }

// fromSum turns a sum into a figure. Missing volumes make it absent. With
// no points selected at all, need (when not empty) says why the figure
// needs some; otherwise nothing of that kind is metered and it is zero.
func fromSum(s sum, what, need term) Figure {
	switch {
	case len(s.missing) > 0:
		return Figure{Points: s.points, Missing: s.missing,
			Note: bi(what.zh+"："+strings.Join(s.missing, ", ")+" 无水量", what.en+": no volume for "+strings.Join(s.missing, ", "))}
	case len(s.points) == 0 && need != (term{}):
		return absent("%s", bi(what.zh+"："+need.zh, what.en+": "+need.en))
	case len(s.points) == 0:
		return known(0, bi(what.zh+"：无此类计量点", what.en+": no such points"))
	}
	return Figure{Value: s.value, OK: true, Points: s.points}
}

// combine computes op over figures, absent when any operand is, with the
// union of their coverage.
func combine(op func(v []float64) (float64, string), fs ...Figure) Figure {
	var out Figure
	var notes []string
	vals := make([]float64, len(fs))
	ok := true
	for i, f := range fs {
		out.Points = union(out.Points, f.Points)
		out.Missing = union(out.Missing, f.Missing)
		vals[i] = f.Value
		if !f.OK {
			ok = false
			if f.Note != "" && !contains(notes, f.Note) {
				notes = append(notes, f.Note)
			}
		}
	}
	if !ok {
		out.Note = strings.Join(notes, "; ")
		return out
	}
	v, why := op(vals)
	if why != "" {
		out.Note = why
		return out
	}
	out.Value, out.OK = v, true
	return out
}

// plus is a + b + ….
func plus(fs ...Figure) Figure {
	return combine(func(v []float64) (float64, string) {
		var s float64
		for _, x := range v {
			s += x
		}
		return s, ""
	}, fs...)
}

// minus is a − b − ….
func minus(a Figure, bs ...Figure) Figure {
	return combine(func(v []float64) (float64, string) {
		s := v[0]
		for _, x := range v[1:] {
			s -= x
		}
		return s, ""
	}, append([]Figure{a}, bs...)...)
}

// quotient is a / b, absent when b is zero.
func quotient(a, b Figure, what term) Figure {
	return combine(func(v []float64) (float64, string) {
		if v[1] == 0 {
			return 0, bi(what.zh+"：分母为零", what.en+": denominator is zero")
		}
		return v[0] / v[1], ""
	}, a, b)
}

// withNote adds a derivation note to a present figure.
func (f Figure) withNote(note string) Figure {
	if f.OK {
		f.Note = note
	}
	return f
}

// Number is the figure as JSON: its value, or null when absent.
func (f Figure) Number() any {
	if !f.OK || math.IsNaN(f.Value) || math.IsInf(f.Value, 0) {
		return nil
	}
	return f.Value
}

// Coverage is a figure's coverage as JSON.
type Coverage struct {
	Points  []string `json:"points"`
	Missing []string `json:"missing,omitempty"`
	Note    string   `json:"note,omitempty"`
}

// Coverage returns the figure's coverage.
func (f Figure) Coverage() Coverage {
	return Coverage{Points: nonNil(f.Points), Missing: f.Missing, Note: f.Note}
}

// MarshalJSON writes the figure as {"value": …, "points": […], …}.
func (f Figure) MarshalJSON() ([]byte, error) {
	c := f.Coverage()
	return json.Marshal(struct {
		Value any `json:"value"`
		Coverage
	}{f.Number(), c})
}

func union(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string(nil), a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
