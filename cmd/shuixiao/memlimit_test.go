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
		if got := limitFor(c.base, c.live); got != c.want {
			t.Errorf("limitFor(%d MiB, %d MiB) = %d MiB, want %d MiB", c.base/mib, c.live/mib, got/mib, c.want/mib)
		}
	}
}
