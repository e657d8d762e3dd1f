package postgres

import (
	"maps"
	"slices"
	"testing"
)

// TestPointMids: the index of each point's meters follows every write of
// the meter cache, a meter moved to another point included, and agrees
// with a pass over every meter (what resolveAll made for each by-point
// series before).
func TestPointMids(t *testing.T) {
	s := &Store{meters: map[string]*meterInfo{}, byMid: map[int32]*meterInfo{}, pointMids: map[string][]int32{}}
	put := func(mid int32, point string) {
		s.putMeterInfo(&meterInfo{mid: mid, id: string(rune('A' + mid)), point: point})
	}
	want := func(step string, w map[string][]int32) {
		t.Helper()
		if !maps.EqualFunc(s.pointMids, w, slices.Equal) {
			t.Errorf("%s: pointMids %v, want %v", step, s.pointMids, w)
		}
		scan := map[string][]int32{}
		for mid, mi := range s.byMid {
			scan[mi.point] = append(scan[mi.point], mid)
		}
		for _, m := range scan {
			slices.Sort(m)
		}
		if !maps.EqualFunc(s.pointMids, scan, slices.Equal) {
			t.Errorf("%s: pointMids %v, every meter's points %v", step, s.pointMids, scan)
		}
	}
	put(3, "P1")
	put(1, "P1")
	put(2, "P1")
	put(4, "P2")
	want("registered", map[string][]int32{"P1": {1, 2, 3}, "P2": {4}})
	put(2, "P1")
	want("registered again", map[string][]int32{"P1": {1, 2, 3}, "P2": {4}})
	put(2, "P2")
	want("moved", map[string][]int32{"P1": {1, 3}, "P2": {2, 4}})
	put(2, "P1")
	put(4, "P1")
	want("moved back", map[string][]int32{"P1": {1, 2, 3, 4}})
}
