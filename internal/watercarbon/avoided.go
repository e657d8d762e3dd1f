package watercarbon

import (
	"context"
	"fmt"

	"github.com/shuixiao/shuixiao/carbon"
)

// Avoidance is the electricity and CO₂ that a proven water saving of an
// enterprise avoids (carbon.Avoided), with what it was computed from.
type Avoidance struct {
	Enterprise string  `json:"enterprise"`
	Year       int     `json:"year"`
	ProvenM3   float64 `json:"proven_m3"`
	// DischargeShare is the enterprise's discharge over its intake in the
	// year's accounts (0 when it has no metered intake there: only the
	// supply side is then counted, the conservative figure).
	DischargeShare float64        `json:"discharge_share"`
	KWh            float64        `json:"kwh"`
	KgCO2          float64        `json:"kg_co2"`
	Factors        carbon.Factors `json:"factors"`
}

// Avoided is the carbon a proven saving of provenM3 (for an M&V statement:
// its issuable part, floor(savings − uncertainty)) avoids for an enterprise
// in a year: the saved intake no longer supplied, and its discharge share
// (from the year's accounts) no longer treated as wastewater, at the
// province's factors of that year.
func (s *Service) Avoided(ctx context.Context, enterprise string, provenM3 float64, year int) (Avoidance, error) {
	snap, err := s.Snapshot(ctx, year)
	if err != nil {
		return Avoidance{}, err
	}
	a := Avoidance{Enterprise: enterprise, Year: year, ProvenM3: provenM3, Factors: snap.Factors}
	if l, ok := snap.Enterprises[enterprise]; ok && l.IntakeM3 > 0 {
		a.DischargeShare = min(max(l.DischargeM3/l.IntakeM3, 0), 1)
	}
	a.KgCO2, a.KWh, err = carbon.Avoided(provenM3, a.DischargeShare, snap.Factors)
	if err != nil {
		return Avoidance{}, fmt.Errorf("carbon avoided by %s's saving: %w", enterprise, err)
	}
	return a, nil
}
