package chem

import (
	"fmt"
	"strconv"
	"strings"
)

// term is one species of a reaction with its stoichiometric coefficient.
type term struct {
	coef    float64
	species string
}

// parseReaction splits "2 H+ + PO4-3 = H2PO4-" into its left and right sides. Terms are
// separated by " + " (with spaces, so the charge sign of "H+" is not a separator) and may
// carry a leading coefficient separated by a space.
func parseReaction(s string) (lhs, rhs []term, err error) {
	parts := strings.Split(s, "=")
	if len(parts) != 2 {
		return nil, nil, fmt.Errorf("reaction %q: want exactly one '='", s)
	}
	if lhs, err = parseSide(parts[0]); err != nil {
		return nil, nil, fmt.Errorf("reaction %q: %w", s, err)
	}
	if rhs, err = parseSide(parts[1]); err != nil {
		return nil, nil, fmt.Errorf("reaction %q: %w", s, err)
	}
	return lhs, rhs, nil
}

func parseSide(s string) ([]term, error) {
	var out []term
	for _, f := range strings.Split(" "+strings.TrimSpace(s)+" ", " + ") {
		f = strings.TrimSpace(f)
		if f == "" {
			return nil, fmt.Errorf("empty term")
		}
		t := term{coef: 1, species: f}
		if sp := strings.IndexByte(f, ' '); sp > 0 {
			c, err := strconv.ParseFloat(f[:sp], 64)
			if err != nil {
				return nil, fmt.Errorf("term %q: coefficient: %w", f, err)
			}
			if !(c > 0) || c > 1e3 {
				return nil, fmt.Errorf("term %q: coefficient out of range", f)
			}
			t = term{coef: c, species: strings.TrimSpace(f[sp+1:])}
		}
		if t.species == "" || strings.ContainsAny(t.species, " \t") {
			return nil, fmt.Errorf("term %q: bad species name", f)
		}
		out = append(out, t)
	}
	return out, nil
}

// chargeOf reads the charge from a species name: "CO3-2" → -2, "H+" → 1, "CaSO4" → 0.
func chargeOf(name string) (float64, error) {
	i := strings.LastIndexAny(name, "+-")
	if i < 0 {
		return 0, nil
	}
	sign := 1.0
	if name[i] == '-' {
		sign = -1
	}
	rest := name[i+1:]
	if rest == "" {
		return sign, nil
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 1 || n > 9 {
		// A '-' inside a formula (not a charge suffix) means a neutral name.
		return 0, fmt.Errorf("species %q: cannot read charge", name)
	}
	return sign * float64(n), nil
}
