package sqlite

import (
	"sort"
	"sync"

	"github.com/shuixiao/shuixiao/internal/store/chunk"
	"github.com/shuixiao/shuixiao/reading"
)

// headRec is one head reading: its row in the hot table and its content.
type headRec struct {
	rid int64
	rec chunk.Record
}

// lastState is a meter's last committed reading.
type lastState struct {
	seq  uint64
	hash reading.Hash
	idx  uint64
	t    int64
}

// head holds the readings committed since the last compaction, in memory
// as in the hot table (where they are durable), and the admission state of
// every meter. Queries read head readings from here: they take a snapshot of
// a meter's head before opening their read transaction, and compaction
// commits the chunks, then deletes the hot rows, then drops the readings
// from the head. A query therefore finds a reading in its head snapshot or in
// the chunks (sometimes both, which it deduplicates by seq), never in
// neither.
type head struct {
	mu      sync.RWMutex
	byMeter map[int64][]headRec // in seq order
	last    map[int64]lastState
	rows    int
	maxRid  int64
	since   int64 // wall-clock ms of the oldest commit still in the head; 0 if empty
}

func (h *head) init() {
	h.byMeter = map[int64][]headRec{}
	h.last = map[int64]lastState{}
}

// add records a committed reading; h.mu must be held by the caller or the
// head not shared yet.
func (h *head) add(mid, rid int64, rec chunk.Record, now int64) {
	rs := h.byMeter[mid]
	if rs == nil {
		rs = make([]headRec, 0, 16)
	}
	h.byMeter[mid] = append(rs, headRec{rid: rid, rec: rec})
	if cur, ok := h.last[mid]; !ok || rec.Seq > cur.seq {
		h.last[mid] = lastState{seq: rec.Seq, hash: rec.Hash, idx: rec.Index, t: rec.T}
	}
	h.rows++
	h.maxRid = max(h.maxRid, rid)
	if h.since == 0 {
		h.since = now
	}
}

// lastOf returns a meter's last committed reading.
func (h *head) lastOf(mid int64) (lastState, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	st, ok := h.last[mid]
	return st, ok
}

// snapshot copies the head readings of the given meters.
func (h *head) snapshot(mids []int64) map[int64][]headRec {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make(map[int64][]headRec, min(len(mids), len(h.byMeter)))
	for _, mid := range mids {
		if rs := h.byMeter[mid]; len(rs) > 0 {
			out[mid] = append([]headRec(nil), rs...)
		}
	}
	return out
}

// through returns, per meter, the head readings with rid ≤ rid, and the
// smallest rid among them.
func (h *head) through(rid int64) (map[int64][]chunk.Record, int64) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make(map[int64][]chunk.Record, len(h.byMeter))
	lo := rid + 1
	for mid, rs := range h.byMeter {
		k := sort.Search(len(rs), func(i int) bool { return rs[i].rid > rid })
		if k == 0 {
			continue
		}
		recs := make([]chunk.Record, k)
		for i := range recs {
			recs[i] = rs[i].rec
		}
		out[mid] = recs
		lo = min(lo, rs[0].rid)
	}
	return out, lo
}

// bySeq finds the head reading of a seq.
func bySeq(rs []headRec, seq uint64) (*chunk.Record, bool) {
	i := sort.Search(len(rs), func(i int) bool { return rs[i].rec.Seq >= seq })
	if i < len(rs) && rs[i].rec.Seq == seq {
		return &rs[i].rec, true
	}
	return nil, false
}

// dropThrough forgets readings with rid ≤ through (they are in chunks now).
func (h *head) dropThrough(through int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for mid, rs := range h.byMeter {
		k := sort.Search(len(rs), func(i int) bool { return rs[i].rid > through })
		if k == 0 {
			continue
		}
		h.rows -= k
		// Keep the slice's capacity for the meter's next readings: snapshots
		// copy, so nothing else holds it.
		n := copy(rs, rs[k:])
		clear(rs[n:])
		h.byMeter[mid] = rs[:n]
	}
	if h.rows == 0 {
		h.since = 0
	}
}

// earliest returns the device time (ms) of each meter's earliest head
// reading.
func (h *head) earliest() map[int64]int64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make(map[int64]int64, len(h.byMeter))
	for mid, rs := range h.byMeter {
		for _, r := range rs {
			if t, ok := out[mid]; !ok || r.rec.T < t {
				out[mid] = r.rec.T
			}
		}
	}
	return out
}
