package chem

import (
	"math"
	"testing"
)

func TestEstimateFromConductivity(t *testing.T) {
	db, err := LoadWATEQ4F()
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewClassic(db.Coef)
	if err != nil {
		t.Fatal(err)
	}
	comp := csvRecords(t, refData(t, "chem", "comparison.csv"))
	formula := csvRecords(t, refData(t, "chem", "indices_formula.csv"))
	for i, c := range comp {
		ec := mustNum(t, c, "SC25_uS_cm")
		e, err := k.EstimateFromConductivity(ec, 25, true)
		if err != nil {
			t.Fatal(err)
		}
		want := mustNum(t, formula[i], "I_from_SC25_1.6e-5")
		if math.Abs(e.IonicStrength-want) > 6e-5 {
			t.Errorf("%s: I %.5f, table %.5f", c["id"], e.IonicStrength, want)
		}
		// The sensor estimate is meant to be within ~20 % of the real ionic strength.
		if real := mustNum(t, c, "I_phreeqc"); math.Abs(e.IonicStrength-real)/real > 0.4 {
			t.Errorf("%s: estimate %.4f far from PHREEQC %.4f", c["id"], e.IonicStrength, real)
		}
		if math.Abs(e.TDS-0.64*ec) > 1e-6*ec {
			t.Errorf("%s: TDS %.1f, want 0.64·EC", c["id"], e.TDS)
		}
	}
	raw, err := k.EstimateFromConductivity(1000, 35, false)
	if err != nil || math.Abs(raw.EC25-1000/(1+0.0191*10)) > 1e-9 {
		t.Errorf("compensation: %+v %v", raw, err)
	}
	if _, err := k.EstimateFromConductivity(-5, 25, true); err == nil {
		t.Error("negative conductivity accepted")
	}
	// LSI from online sensors only stays close to the full-analysis LSI.
	for _, rec := range csvRecords(t, refData(t, "chem", "waters_input.csv"))[:3] {
		a := analysisFromRecord(t, rec)
		full, err := k.Compute(&a)
		if err != nil {
			t.Fatal(err)
		}
		online, err := k.ComputeOnline(&a, full.IonicStrength*1.15)
		if err != nil {
			t.Fatal(err)
		}
		if d := math.Abs(online.LSI - full.LSI); d > 0.02 || d == 0 {
			t.Errorf("%s: online LSI %.4f vs %.4f", rec["id"], online.LSI, full.LSI)
		}
	}
}
