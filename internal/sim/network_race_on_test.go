//go:build race

package sim

// parkRaceEnabled shortens the park detection evaluation under the race
// detector, which slows the hydraulic solves about tenfold.
const parkRaceEnabled = true
