// Package reuse models the control side of an industrial water-reuse train — multimedia
// filter, ultrafiltration (UF) and reverse osmosis (RO) — and the routing of treated water to
// production uses.
//
//   - Multimedia filter: backwash on headloss, effluent-turbidity breakthrough or a timer,
//     whichever comes first (MMFConfig.Step).
//   - UF: flux, transmembrane pressure and permeability corrected to 20 °C by the viscosity of
//     water (as the EPA Membrane Filtration Guidance Manual normalises specific flux), and the
//     backwash → chemically enhanced backwash (CEB) → clean-in-place (CIP) state machine with
//     hysteresis (UFConfig.Step).
//   - RO: ASTM D4516 standardisation of permeate flow, salt passage and differential pressure
//     against a reference (start-up) data set, and cleaning recommendations at configured
//     thresholds (NormalizeRO, ROThresholds.Recommend).
//   - Routing: treated streams are matched to uses by quality class (GB/T 19923-style limits)
//     and per-use limits, best-kept water for the strictest uses (Route).
//
// Controllers are pure step functions Step(state, inputs, dt) → (state, outputs, alarms);
// stale or implausible sensors put them in a fail-safe mode and raise an alarm. Thresholds and
// coefficients live in data/*.csv with their source and a verified flag.
//
// Units: flows m³/h, pressures bar, flux L/(m²·h) (LMH), permeability LMH/bar, concentrations
// mg/L, temperature °C, time s.
package reuse
