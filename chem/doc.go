// Package chem computes the aqueous speciation of a water analysis and the scaling
// indices an industrial water-reuse controller acts on.
//
// Speciation follows the ion-association model of PHREEQC (Parkhurst and Appelo 2013) with
// the WATEQ4F thermodynamic database (Ball and Nordstrom 1991): every species of the major
// ions (Ca, Mg, Na, K, Cl, SO4, carbonate alkalinity, Si, P, NO3, Ba, Sr) with its ion pairs
// (CaSO4°, MgSO4°, NaSO4⁻, KSO4⁻, CaHCO3⁺, CaCO3°, MgHCO3⁺, MgCO3°, CaOH⁺, MgOH⁺, H3SiO4⁻,
// the phosphate complexes …), log K at the sample temperature from the database's analytic
// expressions or the van 't Hoff equation, WATEQ Debye-Hückel activity coefficients (Davies
// for charged species without WATEQ parameters, 0.1·I for neutral species), the
// Debye-Hückel A and B from the dielectric constant (Bradley and Pitzer 1979) and density
// (Wagner and Pruss 2002) of water, and the activity of water. The carbonate system is fixed by
// the measured pH and alkalinity; mass balances and ionic strength are solved together by
// Newton-Raphson iteration. The result carries ionic strength, the charge balance and the
// saturation indices of calcite, aragonite, gypsum, anhydrite, amorphous silica, barite,
// celestite and a few more phases.
//
// Beside it sit the classic indices: the Langelier index computed exactly as Standard
// Methods 2330 B prints it, Ryznar, Puckorius and Larson-Skold, the simplified
// "vendor" LSI (for comparison only), estimates of ionic strength and TDS from conductivity,
// and the concentration of an analysis by recovery or cycles with a choice of pH assumptions.
//
// Every constant that comes from a database, standard or paper lives in the embedded tables
// under data/ with its source and a verified flag. The package is pure: no I/O beyond reading
// the embedded tables and the io.Reader given to ReadAnalysesCSV.
//
// Units: concentrations in mg/L (alkalinity as CaCO3), molalities in mol/kg water,
// temperatures in °C, conductivity in µS/cm.
package chem
