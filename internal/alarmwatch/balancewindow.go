package alarmwatch

import (
	"context"
	"reflect"
	"time"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

// windowVolumes is what the balance check read of one enterprise's window,
// kept until it can have changed. The window's volumes depend only on the
// readings stored at the enterprise's points (each commit marks its meters),
// the points (read and compared whole every round) and the meters'
// registry records (a change voids every enterprise's); a new window (every
// quarter hour) is read again. The check after the window's end depends on
// the clock and is never kept, nor is the judgement: an open alarm is
// repeated every round as before.
type windowVolumes struct {
	from, to time.Time
	pts      []meter.Point
	vol      balance.Volumes
	compared []string
	why      string
}

// still says whether w holds the volumes of window [from, to) for pts, no
// reading having been committed since at any point in dirty (nil: every
// point may have changed).
func (w windowVolumes) still(from, to time.Time, pts []meter.Point, dirty map[string]bool) bool {
	if dirty == nil || !w.from.Equal(from) || !w.to.Equal(to) || !reflect.DeepEqual(w.pts, pts) {
		return false
	}
	for _, p := range pts {
		if dirty[p.ID] {
			return false
		}
	}
	return true
}

// CommitsTo returns st with its commits watched for the balance check,
// for the ingest pipeline to commit through. Until it is called every round
// reads every enterprise's window: a window is kept only while every commit
// is seen. A commit's meters are marked in flight before it reaches st and
// committed after: a round that starts while a commit is in flight, or
// after it, reads their enterprises' windows again.
func (m *Monitor) CommitsTo(st ingest.Store) ingest.Store {
	m.mu.Lock()
	m.watching = true
	m.mu.Unlock()
	return commitWatch{Store: st, m: m}
}

// commitWatch marks the meters of each commit to its Store.
type commitWatch struct {
	ingest.Store
	m *Monitor
}

func (w commitWatch) Commit(ctx context.Context, b *store.Batch) error {
	w.m.committing(b.Readings, 1)
	defer w.m.committing(b.Readings, -1) // failed too: it may have been partly stored
	return w.Store.Commit(ctx, b)
}

// committing counts rs's meters in flight (d = 1) or out of it and
// committed (d = -1).
func (m *Monitor) committing(rs []store.Reading, d int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range rs {
		if m.inflight[r.Meter] += d; m.inflight[r.Meter] <= 0 {
			delete(m.inflight, r.Meter)
		}
		if d < 0 {
			m.committed[r.Meter] = true
		}
	}
}

// RegistryChanged notes that meters' registry records changed (registered,
// registered again, revoked): the balance check reads every enterprise's
// window again at its next round, and looks the points of meters ids up
// afresh.
func (m *Monitor) RegistryChanged(ids ...string) {
	m.mu.Lock()
	m.registry = true
	for _, id := range ids {
		m.moved[id] = true
	}
	m.mu.Unlock()
}

// dirtyPoints takes the meters committed since the last round, with those
// in flight, and returns their points, or nil (every point) when commits are
// not watched, after a registry change, or when a meter's point cannot be
// read.
func (m *Monitor) dirtyPoints(ctx context.Context) map[string]bool {
	m.mu.Lock()
	meters, registry, moved, watching := m.committed, m.registry, m.moved, m.watching
	m.committed, m.registry, m.moved = map[string]bool{}, false, map[string]bool{}
	for id := range m.inflight {
		meters[id] = true
	}
	m.mu.Unlock()
	for id := range moved {
		delete(m.pointOf, id)
	}
	if registry || !watching {
		return nil
	}
	var unknown []string
	for id := range meters {
		if _, ok := m.pointOf[id]; !ok {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 16 { // after a start: one read of the registry, not one per meter
		ms, err := m.opts.Balance.Store.Meters(ctx, store.Filter{})
		if err != nil {
			return nil
		}
		for _, mt := range ms {
			m.pointOf[mt.ID] = mt.Point
		}
	}
	dirty := make(map[string]bool, len(meters))
	for id := range meters {
		p, ok := m.pointOf[id]
		if !ok {
			mt, err := m.opts.Store.Meter(ctx, id)
			if err != nil {
				return nil
			}
			p = mt.Point
			m.pointOf[id] = p
		}
		dirty[p] = true
	}
	return dirty
}
