//go:build race

package leak

// raceEnabled shortens the detection evaluation under the race detector,
// which slows the hydraulic solves about tenfold.
const raceEnabled = true
