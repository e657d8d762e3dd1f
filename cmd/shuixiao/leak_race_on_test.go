//go:build race

package main

// leakRaceEnabled skips the full detection run under the race detector
// (package leak runs a subset of it there).
const leakRaceEnabled = true
