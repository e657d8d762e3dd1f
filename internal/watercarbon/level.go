package watercarbon

import (
	"context"
	"fmt"
	"time"

	"github.com/shuixiao/shuixiao/carbon"
	"github.com/shuixiao/shuixiao/internal/store"
)

// Accounts are one unit's water–carbon accounts for a year to date: its
// line and the lines of its parts (the province's parks, a park's
// enterprises; an enterprise has none), with the factors used.
type Accounts struct {
	Year    int            `json:"year"`
	From    time.Time      `json:"from"`
	To      time.Time      `json:"to"`
	Level   string         `json:"level"`
	Line    Line           `json:"line"`
	Parts   []Line         `json:"parts"`
	Factors carbon.Factors `json:"factors"`
}

// At returns the accounts of a unit: level LevelProvince (id ignored) with
// its parks, LevelPark with its enterprises (a park with no metered
// enterprise has a zero line and no parts), or LevelEnterprise without
// parts (store.ErrNotFound for an enterprise not in the snapshot). Another
// level is store.ErrInvalid.
func (s *Snapshot) At(level, id string) (Accounts, error) {
	a := Accounts{Year: s.Year, From: s.From, To: s.To, Level: level, Parts: []Line{}, Factors: s.Factors}
	switch level {
	case LevelProvince:
		a.Line, a.Parts = s.Province, s.Parks
	case LevelPark:
		for _, l := range s.Parks {
			if l.ID == id {
				a.Line = l
			}
		}
		a.Parts = s.ParkEnterprises(id)
	case LevelEnterprise:
		l, ok := s.Enterprises[id]
		if !ok {
			return Accounts{}, fmt.Errorf("enterprise %s in province %s: %w", id, s.Province.ID, store.ErrNotFound)
		}
		a.Line = l
	default:
		return Accounts{}, fmt.Errorf("level %q: %w: not province, park or enterprise", level, store.ErrInvalid)
	}
	return a, nil
}

// Accounts returns a unit's accounts for a year to date (Snapshot, At).
func (s *Service) Accounts(ctx context.Context, year int, level, id string) (Accounts, error) {
	sn, err := s.Snapshot(ctx, year)
	if err != nil {
		return Accounts{}, err
	}
	return sn.At(level, id)
}
