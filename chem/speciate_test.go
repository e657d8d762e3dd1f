package chem

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

func newTestSpeciator(t testing.TB, opts ...SpeciatorOption) *Speciator {
	t.Helper()
	db, err := LoadWATEQ4F()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSpeciator(db, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSpeciateMatchesPHREEQC compares ionic strength, saturation indices and key species with
// PHREEQC 3.8.6 + wateq4f.dat on the twelve reference waters of testdata/chem.
func TestSpeciateMatchesPHREEQC(t *testing.T) {
	s := newTestSpeciator(t)
	inputs := csvRecords(t, refData(t, "chem", "waters_input.csv"))
	refs := csvRecords(t, refData(t, "chem", "phreeqc_wateq4f.csv"))
	if len(inputs) != 12 || len(refs) != len(inputs) {
		t.Fatalf("want 12 reference waters, got %d inputs and %d results", len(inputs), len(refs))
	}
	minerals := []struct{ col, phase string }{
		{"si_Calcite", "Calcite"}, {"si_Aragonite", "Aragonite"}, {"si_Gypsum", "Gypsum"},
		{"si_Anhydrite", "Anhydrite"}, {"si_SiO2(a)", "SiO2(a)"}, {"si_Hydroxyapatite", "Hydroxyapatite"},
	}
	maxErr := map[string]float64{}
	for i, in := range inputs {
		ref := refs[i]
		if in["id"] != ref["id"] {
			t.Fatalf("row %d: id %s vs %s", i, in["id"], ref["id"])
		}
		a := analysisFromRecord(t, in)
		r, err := s.Speciate(a)
		if err != nil {
			t.Fatalf("%s: %v", in["id"], err)
		}
		mu := mustNum(t, ref, "mu")
		if rel := math.Abs(r.IonicStrength-mu) / mu; rel > 0.005 {
			t.Errorf("%s: I = %.6g, PHREEQC %.6g (%.2f %%)", in["id"], r.IonicStrength, mu, 100*rel)
		}
		for _, m := range minerals {
			want, ok := num(t, ref, m.col)
			if !ok {
				continue
			}
			got := r.SI(m.phase)
			d := math.Abs(got - want)
			maxErr[m.phase] = math.Max(maxErr[m.phase], d)
			if d > 0.01 {
				t.Errorf("%s: SI %s = %.4f, PHREEQC %.4f", in["id"], m.phase, got, want)
			}
		}
		for _, sp := range []string{"Ca+2", "CaSO4", "CaHCO3+", "CaCO3", "HCO3-", "CO3-2", "SO4-2", "H4SiO4", "H3SiO4-"} {
			want := mustNum(t, ref, "m_"+sp)
			if rel := math.Abs(r.Molal(sp)-want) / want; rel > 0.01 {
				t.Errorf("%s: m(%s) = %.5g, PHREEQC %.5g", in["id"], sp, r.Molal(sp), want)
			}
		}
	}
	t.Log(fmt.Sprintf("max |ΔSI| vs PHREEQC/wateq4f: %v", maxErr))
}

// TestSpeciateExtraWaters checks RO concentrates, hot cooling water, pH 9+ silica waters and
// brines (I up to 0.67) against PHREEQC 3.8.6/wateq4f results stored in testdata.
func TestSpeciateExtraWaters(t *testing.T) {
	s := newTestSpeciator(t)
	recs := csvRecords(t, "testdata/phreeqc_extra.csv")
	if len(recs) < 40 {
		t.Fatalf("want at least 40 extra waters, got %d", len(recs))
	}
	phases := []string{"Calcite", "Aragonite", "Gypsum", "Anhydrite", "SiO2(a)", "Barite", "Celestite", "Dolomite"}
	worst := map[string]float64{}
	worstI := 0.0
	for _, rec := range recs {
		a := analysisFromRecord(t, rec)
		r, err := s.Speciate(a)
		if err != nil {
			t.Fatalf("%s: %v", rec["id"], err)
		}
		mu := mustNum(t, rec, "mu")
		relI := math.Abs(r.IonicStrength-mu) / mu
		worstI = math.Max(worstI, relI)
		if relI > 0.005 {
			t.Errorf("%s (%s): I = %.5g, PHREEQC %.5g", rec["id"], rec["category"], r.IonicStrength, mu)
		}
		for _, p := range phases {
			want, ok := num(t, rec, "si_"+p)
			got := r.SI(p)
			if !ok {
				if !math.IsNaN(got) {
					t.Errorf("%s: SI %s = %g, PHREEQC reports none", rec["id"], p, got)
				}
				continue
			}
			d := math.Abs(got - want)
			worst[p] = math.Max(worst[p], d)
			// The issue allows 0.05 (I ≤ 0.2) and 0.10 (I ≤ 0.4); the engine follows PHREEQC's
			// equations, so it must agree to rounding of the stored 4-decimal values.
			if d > 0.005 {
				t.Errorf("%s (%s, I=%.3f): SI %s = %.4f, PHREEQC %.4f", rec["id"], rec["category"], mu, p, got, want)
			}
		}
	}
	t.Logf("max |ΔSI| %v; max relative ΔI %.2e", worst, worstI)
}

// TestSpeciateRandomWaters compares 400 random waters over 0.5-95 °C and pH 4.5-10.5 with
// PHREEQC; analyses PHREEQC can only "solve" by driving carbonate to nothing (SI calcite
// ≈ −250) must be rejected with ErrAlkalinity instead.
func TestSpeciateRandomWaters(t *testing.T) {
	s := newTestSpeciator(t)
	recs := csvRecords(t, "testdata/phreeqc_random.csv")
	if len(recs) != 400 {
		t.Fatalf("want 400 random waters, got %d", len(recs))
	}
	phases := []string{"Calcite", "Aragonite", "Gypsum", "Anhydrite", "SiO2(a)", "Barite", "Celestite"}
	worst := map[string]float64{}
	rejected := 0
	for _, rec := range recs {
		a := analysisFromRecord(t, rec)
		r, err := s.Speciate(a)
		cal, hasCal := num(t, rec, "si_Calcite")
		if hasCal && cal < -100 {
			if !errors.Is(err, ErrAlkalinity) {
				t.Errorf("%s: PHREEQC SI calcite %.0f (no carbonate can satisfy the alkalinity), got err %v", rec["id"], cal, err)
			}
			rejected++
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", rec["id"], err)
			continue
		}
		if mu := mustNum(t, rec, "mu"); math.Abs(r.IonicStrength-mu) > 1e-4*mu {
			t.Errorf("%s: I %.6g, PHREEQC %.6g", rec["id"], r.IonicStrength, mu)
		}
		for _, p := range phases {
			want, ok := num(t, rec, "si_"+p)
			if !ok {
				continue
			}
			d := math.Abs(r.SI(p) - want)
			worst[p] = math.Max(worst[p], d)
			if d > 0.005 {
				t.Errorf("%s (T %.1f, pH %.2f): SI %s %.4f, PHREEQC %.4f", rec["id"], a.TempC, a.PH, p, r.SI(p), want)
			}
		}
	}
	t.Logf("max |ΔSI| %v; %d infeasible analyses rejected", worst, rejected)
}
