package chem

import (
	"math"
	"testing"
)

// TestConcentrateMatchesPHREEQC concentrates reference waters 2-6 times and compares the
// closed-system pH and the pH after CO2 degassing to log p = -3.4 with PHREEQC, which removes
// water (REACTION H2O -1) and equilibrates with CO2(g).
func TestConcentrateMatchesPHREEQC(t *testing.T) {
	s := newTestSpeciator(t)
	waters := map[string]Analysis{}
	for _, rec := range csvRecords(t, refData(t, "chem", "waters_input.csv")) {
		waters[rec["id"]] = analysisFromRecord(t, rec)
	}
	refs := csvRecords(t, "testdata/phreeqc_concentrate.csv")
	if len(refs) == 0 {
		t.Fatal("no concentration reference rows")
	}
	for _, ref := range refs {
		feed, ok := waters[ref["id"]]
		if !ok {
			t.Fatalf("unknown water %s", ref["id"])
		}
		cf := mustNum(t, ref, "factor")
		for _, tc := range []struct {
			rule   PHAssumption
			suffix string
		}{{PHClosedSystem, "closed"}, {PHCO2Equilibrium, "co2eq"}} {
			out, r, err := s.Concentrate(feed, Concentration{Factor: cf, PHRule: tc.rule, LogPCO2: -3.4})
			if err != nil {
				t.Fatalf("%s ×%g %s: %v", ref["id"], cf, tc.suffix, err)
			}
			if d := math.Abs(out.PH - mustNum(t, ref, "pH_"+tc.suffix)); d > 0.01 {
				t.Errorf("%s ×%g %s: pH %.4f, PHREEQC %.4f", ref["id"], cf, tc.suffix, out.PH, mustNum(t, ref, "pH_"+tc.suffix))
			}
			for _, p := range []string{"Calcite", "Gypsum"} {
				want := mustNum(t, ref, "si_"+p+"_"+tc.suffix)
				if d := math.Abs(r.SI(p) - want); d > 0.02 {
					t.Errorf("%s ×%g %s: SI %s %.4f, PHREEQC %.4f", ref["id"], cf, tc.suffix, p, r.SI(p), want)
				}
			}
			mu := mustNum(t, ref, "mu_"+tc.suffix)
			if rel := math.Abs(r.IonicStrength-mu) / mu; rel > 0.01 {
				t.Errorf("%s ×%g %s: I %.5g, PHREEQC %.5g", ref["id"], cf, tc.suffix, r.IonicStrength, mu)
			}
		}
	}
}

// TestConcentrateConstantCO2 checks the RO rule: alkalinity scales, CO2 stays, pH rises.
func TestConcentrateConstantCO2(t *testing.T) {
	s := newTestSpeciator(t)
	feed := analysisFromRecord(t, csvRecords(t, refData(t, "chem", "waters_input.csv"))[1])
	fr, err := s.Speciate(feed)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := RecoveryFactor(0.75)
	if err != nil || cf != 4 {
		t.Fatalf("RecoveryFactor(0.75) = %g, %v", cf, err)
	}
	out, r, err := s.Concentrate(feed, Concentration{Factor: cf, PHRule: PHConstantCO2})
	if err != nil {
		t.Fatal(err)
	}
	if rel := math.Abs(r.Molal("CO2")-fr.Molal("CO2")) / fr.Molal("CO2"); rel > 1e-3 {
		t.Errorf("CO2 %g vs feed %g", r.Molal("CO2"), fr.Molal("CO2"))
	}
	// pH_c ≈ pH_f + log(CF) for bicarbonate-dominated water, less the activity change.
	if out.PH < feed.PH+0.4 || out.PH > feed.PH+math.Log10(cf)+0.05 {
		t.Errorf("concentrate pH %.3f for feed %.3f at CF 4", out.PH, feed.PH)
	}
	if out.Ca != 4*feed.Ca || out.Alk != 4*feed.Alk {
		t.Errorf("concentrations not scaled: %+v", out)
	}
	if _, err := RecoveryFactor(1); err == nil {
		t.Error("recovery 1 accepted")
	}
	if _, _, err := s.Concentrate(feed, Concentration{Factor: 0.5}); err == nil {
		t.Error("factor < 1 accepted")
	}
}
