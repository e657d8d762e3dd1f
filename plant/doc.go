// Package plant is a dynamic model of the water side of a cooling tower for closed-loop tests
// and the simulator: basin level from make-up, evaporation, drift and blowdown; conductivity
// (a conservative tracer of dissolved solids) and treatment product (inert fluorescent tracer)
// by mixed-tank mass balances; a tagged polymer consumed by scaling stress; heat load as the
// cooling range; make-up quality swings and sensor drift as disturbances. It also models UF
// and RO fouling for trend displays.
//
// The model is pure: Step(state, inputs, dt) returns the next state; noise comes from a
// caller-supplied *rand.Rand. Units: m³, m³/h, °C, µS/cm, mg/L, µg/L, s.
package plant
