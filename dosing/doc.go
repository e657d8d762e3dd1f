// Package dosing holds the chemical-feed controllers of a cooling-water or reuse system:
// inhibitor feed on the product concentration read from an inert fluorescent tracer (the 3D
// TRASAR idea: fluorescence → tracer → product with a two-point calibration, PI with
// feed-forward from the purge flow, anti-windup and pump limits), the consumption ("stress")
// signal from a tagged polymer against the inert tracer, the system volume and holding time
// from a tracer slug, acid feed on pH, and oxidising biocide by ORP or by schedule.
//
// Every controller is a pure step function for closed-loop use:
// Step(state, inputs, dt) → (state, outputs, alarms). The pump limit is an interlock: no input,
// however wrong, makes a controller command more than it. Stale, faulted or implausible
// sensor values put the controller into its fail-safe output and raise an alarm.
//
// Units: product and tracer concentrations mg/L and µg/L, flows m³/h, pump rates L/h of neat
// product, pH units, ORP mV, time s. The worked vectors of chemistry.md §5 are unit tests.
package dosing
