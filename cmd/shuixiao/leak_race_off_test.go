//go:build !race

package main

const leakRaceEnabled = false
