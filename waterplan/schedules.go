package waterplan

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
)

//go:embed data/schedules.json
var schedulesJSON []byte

// Schedules are the built-in progressive-pricing schedules, each with its
// source and whether it was verified against the primary text. A deployment
// replaces them with its city's own schedule.
func Schedules() ([]Schedule, error) { return ParseSchedules(schedulesJSON) }

// ParseSchedules reads schedules from JSON: an array of {name, source,
// verified, tiers: [{up_to, surcharge}]}, where the last tier's up_to is the
// string "inf".
func ParseSchedules(b []byte) ([]Schedule, error) {
	var raw []struct {
		Name     string `json:"name"`
		Source   string `json:"source"`
		Verified bool   `json:"verified"`
		Tiers    []struct {
			UpTo      json.RawMessage `json:"up_to"`
			Surcharge float64         `json:"surcharge"`
		} `json:"tiers"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("schedules: %w", err)
	}
	out := make([]Schedule, 0, len(raw))
	seen := map[string]bool{}
	for i, r := range raw {
		s := Schedule{Name: r.Name, Source: r.Source, Verified: r.Verified}
		if s.Name == "" || s.Source == "" || seen[s.Name] {
			return nil, fmt.Errorf("schedule %d: a unique name and a source are required", i+1)
		}
		seen[s.Name] = true
		for j, t := range r.Tiers {
			up := math.Inf(1)
			if string(t.UpTo) != `"inf"` {
				if err := json.Unmarshal(t.UpTo, &up); err != nil {
					return nil, fmt.Errorf("schedule %q tier %d: up_to must be a number or \"inf\"", s.Name, j+1)
				}
			}
			s.Tiers = append(s.Tiers, Tier{UpTo: up, Surcharge: t.Surcharge})
		}
		if err := s.Validate(); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
