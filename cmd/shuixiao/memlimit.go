package main

import (
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// A soft memory limit keeps a small server small: the collector runs more
// often near it instead of letting the heap grow defaultGCPercent past the
// live data. Under the live heap itself it makes the collector run back to
// back, up to half the process's CPU, for no memory back: a province's key
// directory, the sequencer's per-meter state and the edge's decoded keys
// are live, and at 100,000 meters they are past 224 or 512 MiB. So the
// limit follows the live heap: it is never less than liveHeapHeadroom times
// the live heap, where it no longer binds before defaultGCPercent does.

// liveHeapHeadroom is the least ratio of the soft memory limit to the live
// heap: the heap's goal at defaultGCPercent is 3 times the live heap, and
// the runtime's stacks, metadata and freed pages not yet returned take the
// rest. At 2 the limit still bound: the sequencer at 100,000 meters spent
// 28 % of its CPU returning pages to the system (runtime.madvise) and
// taking them back.
const liveHeapHeadroom = 4

// limitFor is the soft memory limit of a process whose configured limit is
// base and whose live heap, as the collector last marked it, is live bytes.
func limitFor(base int64, live uint64) int64 {
	return max(base, int64(min(live, 1<<60))*liveHeapHeadroom)
}

// followLiveHeap sets the soft memory limit to limitFor(base, live heap)
// every period, for the life of the process.
func followLiveHeap(base int64, period time.Duration) {
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	for range time.Tick(period) {
		metrics.Read(live)
		if live[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		debug.SetMemoryLimit(limitFor(base, live[0].Value.Uint64()))
	}
}
