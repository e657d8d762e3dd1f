package alarmwatch

import (
	"context"
	"maps"
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
// registered again, revoked), once the change is stored: the balance check
// reads every enterprise's window again at its next round, and the point
// and enterprise kept of each meter in ids (factsOf) are looked up afresh
// at their next use, by the balance check and by the alarms raised for it.
// devicecred names every meter a change touched, so a call without ids (an
// empty bulk registration) drops no meter's facts.
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
	meters, registry, watching := m.committed, m.registry, m.watching
	m.committed, m.registry = map[string]bool{}, false
	for id := range m.inflight {
		meters[id] = true
	}
	m.mu.Unlock()
	if registry || !watching {
		return nil
	}
	if !m.lookupMany(ctx, maps.Keys(meters)) {
		return nil
	}
	dirty := make(map[string]bool, len(meters))
	for id := range meters {
		f, err := m.lookup(ctx, id)
		if err != nil {
			return nil
		}
		dirty[f.point] = true
	}
	return dirty
}

// readAllFacts keeps the point and enterprise of every meter of the
// registry, read whole; false if it could not be read.
func (m *Monitor) readAllFacts(ctx context.Context) bool {
	ms, err := m.opts.Store.Meters(ctx, store.Filter{})
	if err != nil {
		return false
	}
	pts, err := m.opts.Store.Points(ctx, store.Filter{})
	if err != nil {
		return false
	}
	enterprise := make(map[string]string, len(pts))
	for _, p := range pts {
		enterprise[p.ID] = p.Enterprise
	}
	for _, mt := range ms {
		if e, ok := enterprise[mt.Point]; ok {
			m.facts[mt.ID] = meterFacts{point: mt.Point, enterprise: e}
		}
	}
	return true
}
