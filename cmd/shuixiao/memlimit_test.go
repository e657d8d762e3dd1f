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
		{224 * mib, 50 * mib, 224 * mib},    // a small server: the configured limit
		{224 * mib, 56 * mib, 224 * mib},    // exactly a quarter of it
		{224 * mib, 300 * mib, 1200 * mib},  // a province's directory: 4 times the live heap
		{512 * mib, 2048 * mib, 8192 * mib}, // the sequencer at half a million meters
	} {
		if got := limitFor(c.base, c.live); got != c.want {
			t.Errorf("limitFor(%d MiB, %d MiB) = %d MiB, want %d MiB", c.base/mib, c.live/mib, got/mib, c.want/mib)
		}
	}
}
