// Package cooling does the water side of an open recirculating cooling tower: the mass
// balance of evaporation, drift, blowdown and make-up (the US "0.00085 × range × flow" rule and
// the GB/T 50050 form Qe = k·Δt·Qr with its k table), the steady inhibitor demand and holding
// time, the cycles-of-concentration optimiser that finds the highest cycles at which every
// scaling index (computed by package chem at the hottest wall temperature) and every
// water-quality limit (GB/T 50050) holds, and the make-up (level) and conductivity-driven
// blowdown controllers.
//
// Controllers are pure step functions for closed-loop use: Step(state, inputs, dt) returns the
// new state, the outputs and any alarms; they hold no clock and no I/O. Stale or implausible
// sensor values drive the outputs to a configured fail-safe and raise an alarm.
//
// Units: flows m³/h (or gpm where the name says so), temperatures °C, conductivity µS/cm,
// concentrations mg/L, level % of span, dt seconds.
package cooling
