//go:build race

package main

// raceEnabled: the race detector is on. The full leak detection run is
// skipped under it (package leak runs a subset there), and timing figures
// are logged but not asserted (they measure the detector, not the server).
const raceEnabled = true
