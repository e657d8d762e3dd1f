package balance

// PeriodPart is what PeriodVolumes gave for one part of a period read on
// its own: the volumes, the coverage, and the number of intervals each
// point had in that part.
type PeriodPart struct {
	Volumes   Volumes
	Coverage  map[string]float64
	Intervals int
}

// JoinPeriods is PeriodVolumes over consecutive parts of a period that were
// read separately (the closed days of a month kept, today read again): a
// point's volume is the sum of its volumes in the parts where it had one
// (absent where it had none in every part, as PeriodVolumes leaves it), its
// coverage its valid intervals over all its intervals. It gives what
// PeriodVolumes gives over the parts' intervals put together, up to the
// order of the additions.
func JoinPeriods(parts []PeriodPart) (Volumes, map[string]float64) {
	vol := Volumes{}
	valid, total := map[string]float64{}, map[string]int{}
	for _, p := range parts {
		for id, v := range p.Volumes {
			vol[id] += v
		}
		for id, c := range p.Coverage {
			valid[id] += c * float64(p.Intervals)
			total[id] += p.Intervals
		}
	}
	cov := make(map[string]float64, len(total))
	for id, n := range total {
		cov[id] = 0
		if n > 0 {
			cov[id] = valid[id] / float64(n)
		}
	}
	return vol, cov
}
