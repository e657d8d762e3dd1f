//go:build !race

package sim

const parkRaceEnabled = false
