package main

import (
	"fmt"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"time"
)

// A soft memory limit keeps a small server small: the collector runs more
// often near it instead of letting the heap grow defaultGCPercent past the
// live data. Under the live heap itself it makes the collector run back to
// back, up to half the process's CPU, for no memory back: a province's key
// directory, the sequencer's per-meter state and the edge's decoded keys
// are live, and at 100,000 meters they are past 224 or 512 MiB. So the
// limit follows the live heap: it leaves the configured limit free above
// twice the live heap.
//
// Twice, not more: at defaultGCPercent the heap's own goal is 3 times the
// live heap, and a limit of 4 times it (never binding) took the edge and
// sequencer at 100,000 meters to 1.2 and 1.9 GB (bench ingest). Not just
// twice: the limit also counts the runtime's stacks, metadata and freed
// pages not yet returned, and at exactly 2 times the live heap the
// sequencer spent 28 % of its CPU returning pages to the system and taking
// them back (runtime.madvise).

// liveHeapHeadroom is how many times the live heap the limit leaves room
// for, besides the configured limit, in every role. Three times for a
// sequencer (so that at a province's 2 GB live heap the limit stays above
// GOGC's target) was measured at 500,000 meters (bench province, one run
// each, load 2.4–6.4): 63.8 against 59.1 CPU-µs a reading for twice, and
// 6.1 against 4.2 GB RSS, so twice it stays; SHUIXIAO_GC_HEADROOM sets it.
const liveHeapHeadroom = 2

// headroomEnv, if set, is the headroom (1 to maxHeadroom times the live
// heap) instead of liveHeapHeadroom.
const headroomEnv = "SHUIXIAO_GC_HEADROOM"

const maxHeadroom = 16

// headroomOf is the headroom env asks for (an integer, 1 to maxHeadroom),
// or def if it is empty.
func headroomOf(env string, def int64) (int64, error) {
	if env == "" {
		return def, nil
	}
	h, err := strconv.ParseInt(env, 10, 64)
	if err != nil || h < 1 || h > maxHeadroom {
		return 0, fmt.Errorf("%s=%q: want an integer from 1 to %d (times the live heap)", headroomEnv, env, maxHeadroom)
	}
	return h, nil
}

// limitFor is the soft memory limit of a process whose configured limit is
// base, whose live heap, as the collector last marked it, is live bytes,
// and whose limit leaves headroom times it free.
func limitFor(base int64, live uint64, headroom int64) int64 {
	return base + int64(min(live, 1<<56))*headroom
}

// followLiveHeap sets the soft memory limit to limitFor(base, live heap,
// headroom) every period, for the life of the process.
func followLiveHeap(base, headroom int64, period time.Duration) {
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	for range time.Tick(period) {
		metrics.Read(live)
		if live[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		debug.SetMemoryLimit(limitFor(base, live[0].Value.Uint64(), headroom))
	}
}
