package main

import "testing"

func TestLimitFor(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		base int64
		live uint64
		want int64
	}{
		{224 * mib, 0, 224 * mib},
		{224 * mib, 50 * mib, 324 * mib},    // a small server: little above the configured limit
		{224 * mib, 300 * mib, 824 * mib},   // a province's directory
		{512 * mib, 2048 * mib, 4608 * mib}, // the sequencer at half a million meters
	} {
		if got := limitFor(c.base, c.live, liveHeapHeadroom); got != c.want {
			t.Errorf("limitFor(%d MiB, %d MiB) = %d MiB, want %d MiB", c.base/mib, c.live/mib, got/mib, c.want/mib)
		}
	}
}

// TestHeadroom: SHUIXIAO_GC_HEADROOM sets the multiple of the live heap
// the limit leaves free, an integer from 1 to 16, or the default.
func TestHeadroom(t *testing.T) {
	const mib = 1 << 20
	if got := limitFor(512*mib, 2048*mib, 3); got != 6656*mib {
		t.Errorf("headroom 3 at a 2 GiB live heap: limit %d MiB, want 6656 MiB", got/mib)
	}
	for env, want := range map[string]int64{"": 3, "1": 1, "2": 2, "16": 16} {
		if got, err := headroomOf(env, 3); err != nil || got != want {
			t.Errorf("headroomOf(%q) = %d, %v; want %d", env, got, err, want)
		}
	}
	for _, env := range []string{"0", "-2", "17", "2.5", "two", " 2"} {
		if got, err := headroomOf(env, 3); err == nil {
			t.Errorf("headroomOf(%q) = %d, want an error", env, got)
		}
	}
}
