package network

import (
	"testing"
)

func benchSolver(b *testing.B, file string) *Solver {
	b.Helper()
	net, err := ReadFile(networkPath(b, file))
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewSolver(net)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// benchRun times whole extended period simulations including the solver
// set-up (checks, units, symbolic factorisation) but not file parsing, as
// `shuixiao hydraulics --time` and EPANET's ENopenH…ENcloseH.
func benchRun(b *testing.B, file string) {
	net, err := ReadFile(networkPath(b, file))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	steps := 0
	for b.Loop() {
		s, err := NewSolver(net)
		if err != nil {
			b.Fatal(err)
		}
		steps = 0
		err = s.Run(func(*Step) error { steps++; return nil })
		if _, halted := err.(*HaltError); err != nil && !halted {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(steps), "steps")
}

// BenchmarkSolveLTown: L-TOWN, 168 h, 2031 steps (EPANET 2.3.5: 0.175 s on
// the reference machine).
func BenchmarkSolveLTown(b *testing.B) { benchRun(b, "L-TOWN.inp") }

// BenchmarkSolveNet6: Net6, 96 h, 608 steps (EPANET: 0.742 s).
func BenchmarkSolveNet6(b *testing.B) { benchRun(b, "Net6.inp") }

// BenchmarkSolveBWSN2: BWSN_Network_2 to its halt at 27 h (EPANET: 0.347 s).
func BenchmarkSolveBWSN2(b *testing.B) { benchRun(b, "BWSN_Network_2.inp") }

// BenchmarkSolveMicropolis: Micropolis, 240 h with rules (EPANET: 0.632 s).
func BenchmarkSolveMicropolis(b *testing.B) { benchRun(b, "Micropolis_v1.inp") }

// BenchmarkSnapshotLTown: one steady state of L-TOWN from scratch, the unit
// of a sensitivity study.
func BenchmarkSnapshotLTown(b *testing.B) {
	s := benchSolver(b, "L-TOWN.inp")
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Snapshot(3 * 3600); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResolveLTownEmitter: warm re-solve after changing an emitter,
// the inner loop of leak sensitivity matrices.
func BenchmarkResolveLTownEmitter(b *testing.B) {
	s := benchSolver(b, "L-TOWN.inp")
	if err := s.Snapshot(3 * 3600); err != nil {
		b.Fatal(err)
	}
	j, _ := s.Network().NodeIndex("n54")
	b.ReportAllocs()
	on := false
	for b.Loop() {
		on = !on
		c := 0.0
		if on {
			c = 1
		}
		if err := s.SetEmitter(j, c); err != nil {
			b.Fatal(err)
		}
		if err := s.Resolve(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseLTown: reading the 412 kB L-TOWN file.
func BenchmarkParseLTown(b *testing.B) {
	path := networkPath(b, "L-TOWN.inp")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadFile(path); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewSolverBWSN2: unit conversion, validation and the symbolic
// factorisation (minimum degree ordering) of a 12,500-node network.
func BenchmarkNewSolverBWSN2(b *testing.B) {
	net, err := ReadFile(networkPath(b, "BWSN_Network_2.inp"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewSolver(net); err != nil {
			b.Fatal(err)
		}
	}
}
