package watercarbon

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
)

// TestAt checks the choice of a level's line and parts from a snapshot.
func TestAt(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e1 := Line{Level: LevelEnterprise, ID: "E1", Park: "PK", IntakeM3: 30}
	e2 := Line{Level: LevelEnterprise, ID: "E2", IntakeM3: 5}
	pk := Line{Level: LevelPark, ID: "PK", IntakeM3: 30}
	s := &Snapshot{Year: 2026, From: from, To: from.AddDate(0, 2, 0), Province: Line{Level: LevelProvince, ID: "430000", IntakeM3: 35},
		Parks: []Line{pk}, Enterprises: map[string]Line{"E1": e1, "E2": e2}, byPark: map[string][]string{"PK": {"E1"}}}
	for _, tc := range []struct {
		level, id string
		line      string
		parts     []string
	}{
		{LevelProvince, "", "430000", []string{"PK"}},
		{LevelPark, "PK", "PK", []string{"E1"}},
		{LevelPark, "PK-EMPTY", "", nil},
		{LevelEnterprise, "E2", "E2", nil},
	} {
		a, err := s.At(tc.level, tc.id)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.level, tc.id, err)
		}
		var parts []string
		for _, l := range a.Parts {
			parts = append(parts, l.ID)
		}
		if a.Line.ID != tc.line || strings.Join(parts, ",") != strings.Join(tc.parts, ",") || a.Parts == nil ||
			a.Level != tc.level || a.Year != 2026 || !a.To.Equal(s.To) {
			t.Errorf("%s %s: line %q parts %v (%#v), want %q %v", tc.level, tc.id, a.Line.ID, parts, a.Parts, tc.line, tc.parts)
		}
	}
	if _, err := s.At(LevelEnterprise, "E9"); !errors.Is(err, store.ErrNotFound) || err.Error() != "enterprise E9 in province 430000: not found" {
		t.Errorf("unknown enterprise: %v", err)
	}
	if _, err := s.At("city", "4303"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("unknown level: %v", err)
	}
	// The answer of GET /api/v1/carbon: these keys, in this order.
	a, _ := s.At(LevelEnterprise, "E1")
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.Token()
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	if got := strings.Join(keys, ","); got != "year,from,to,level,line,parts,factors" {
		t.Errorf("keys %s", got)
	}
}
