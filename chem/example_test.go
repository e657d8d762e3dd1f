package chem_test

import (
	"fmt"

	"github.com/shuixiao/shuixiao/chem"
)

// Speciate a cooling-tower basin water (reference water W06) and read the saturation indices
// and the Standard Methods LSI. The printed values equal PHREEQC's (phreeqc_wateq4f.csv) and
// indices_formula.csv to the digits shown.
func ExampleSpeciator_Speciate() {
	db, err := chem.LoadWATEQ4F()
	if err != nil {
		panic(err)
	}
	sp, err := chem.NewSpeciator(db) // one per goroutine; reuse it for many analyses
	if err != nil {
		panic(err)
	}
	basin := chem.Analysis{TempC: 35, PH: 8.6, Ca: 200, Mg: 50, Na: 100, K: 15, Cl: 260.2, SO4: 200,
		Alk: 350, SiO2: 40, PO4: 0.5, NO3: 20}
	r, err := sp.Speciate(basin)
	if err != nil {
		panic(err)
	}
	fmt.Printf("I = %.4f mol/kgw\n", r.IonicStrength)
	for _, p := range []string{"Calcite", "Aragonite", "Gypsum", "Anhydrite", "SiO2(a)"} {
		fmt.Printf("SI %-9s %+.2f\n", p, r.SI(p))
	}
	fmt.Printf("CaSO4° %.2e mol/kgw\n", r.Molal("CaSO4"))
	classic, err := chem.NewClassic(db.Coef)
	if err != nil {
		panic(err)
	}
	x, err := classic.Compute(&basin)
	if err != nil {
		panic(err)
	}
	fmt.Printf("LSI %.2f RSI %.2f PSI %.2f Larson-Skold %.2f\n", x.LSI, x.RSI, x.PSI, x.LarsonSkold)
	// Output:
	// I = 0.0234 mol/kgw
	// SI Calcite   +1.89
	// SI Aragonite +1.75
	// SI Gypsum    -1.16
	// SI Anhydrite -1.33
	// SI SiO2(a)   -0.58
	// CaSO4° 3.90e-04 mol/kgw
	// LSI 2.05 RSI 4.50 PSI 4.83 Larson-Skold 1.64
}

// Concentrate a make-up water four times in an RO (75 % recovery), CO2 passing the membrane.
// (PHREEQC 3.8.6, removing water and holding log pCO2 at the feed's −2.814, gives pH 8.43 and
// SI calcite +1.63.)
func ExampleSpeciator_Concentrate() {
	db, _ := chem.LoadWATEQ4F()
	sp, _ := chem.NewSpeciator(db)
	feed := chem.Analysis{TempC: 20, PH: 7.9, Ca: 40, Mg: 10, Na: 20.8, K: 3, Cl: 25, SO4: 40, Alk: 110, SiO2: 8}
	cf, _ := chem.RecoveryFactor(0.75)
	out, r, err := sp.Concentrate(feed, chem.Concentration{Factor: cf, PHRule: chem.PHConstantCO2})
	if err != nil {
		panic(err)
	}
	fmt.Printf("concentrate pH %.2f, Ca %.0f mg/L, SI calcite %+.2f\n", out.PH, out.Ca, r.SI("Calcite"))
	// Output:
	// concentrate pH 8.43, Ca 160 mg/L, SI calcite +1.63
}
