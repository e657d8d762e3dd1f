package sqlite

import (
	"sort"
	"sync"

	"github.com/shuixiao/shuixiao/reading"
)

// hotEntry locates one head reading: its row in the hot table, its seq and
// device time.
type hotEntry struct {
	rid int64
	seq uint64
	t   int64
}

// lastState is a meter's last committed reading.
type lastState struct {
	seq  uint64
	hash reading.Hash
	idx  uint64
	t    int64
}

// head is the in-memory index of the hot table and the admission state of
// every meter. Queries take a snapshot of a meter's entries before they open
// their read transaction; compaction commits the chunks, then deletes the hot
// rows, then drops the entries. A query therefore always finds a reading in
// the hot rows it was told about or in the chunks (sometimes both, which it
// deduplicates by seq), never in neither.
type head struct {
	mu     sync.RWMutex
	hot    map[int64][]hotEntry // by meter, in seq order
	last   map[int64]lastState  // by meter
	rows   int
	maxRid int64
	since  int64 // wall-clock ms of the oldest commit still in the head; 0 if empty
}

func (h *head) init() {
	h.hot = map[int64][]hotEntry{}
	h.last = map[int64]lastState{}
}

// add records a committed reading; h.mu must be held by the caller or the
// head not shared yet.
func (h *head) add(mid int64, e hotEntry, st lastState, now int64) {
	h.hot[mid] = append(h.hot[mid], e)
	if cur, ok := h.last[mid]; !ok || st.seq > cur.seq {
		h.last[mid] = st
	}
	h.rows++
	h.maxRid = max(h.maxRid, e.rid)
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

// snapshot copies the hot entries of the given meters.
func (h *head) snapshot(mids []int64) map[int64][]hotEntry {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make(map[int64][]hotEntry, len(mids))
	for _, mid := range mids {
		if es := h.hot[mid]; len(es) > 0 {
			out[mid] = append([]hotEntry(nil), es...)
		}
	}
	return out
}

// bySeq finds the hot entry of a seq.
func bySeq(es []hotEntry, seq uint64) (hotEntry, bool) {
	i := sort.Search(len(es), func(i int) bool { return es[i].seq >= seq })
	if i < len(es) && es[i].seq == seq {
		return es[i], true
	}
	return hotEntry{}, false
}

// dropThrough forgets entries with rid ≤ through (they are in chunks now).
func (h *head) dropThrough(through int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for mid, es := range h.hot {
		k := sort.Search(len(es), func(i int) bool { return es[i].rid > through })
		if k == 0 {
			continue
		}
		h.rows -= k
		if k == len(es) {
			delete(h.hot, mid)
		} else {
			h.hot[mid] = append([]hotEntry(nil), es[k:]...)
		}
	}
	if h.rows == 0 {
		h.since = 0
	}
}
