package alarmwatch

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

// MeterSource is what MeterList reads of the registry.
type MeterSource interface {
	Meters(ctx context.Context, f store.Filter) ([]meter.Meter, error)
	Meter(ctx context.Context, id string) (meter.Meter, error)
}

// MeterList is the registry's meters as the offline check needs them,
// read whole once and then kept: a meter whose registry record changed
// (registered, registered again, revoked: Changed, called once the change
// is stored) is read again, alone, at the next Meters. At 50,000 meters a
// whole read every check was most of the check's cost. It keeps of each
// meter only what the check reads (checked): the rest of a record (key,
// point, serial, model, gateway, collector) was five or six strings per
// meter of a province for the collector to mark at every collection. Its
// methods are safe for concurrent use.
type MeterList struct {
	Store MeterSource

	read  sync.Mutex    // one Meters at a time
	list  []meter.Meter // never modified once returned: a change makes a new slice
	index map[string]int

	mu      sync.Mutex
	loaded  bool // changes are noted from the first Meters on
	changed map[string]bool
}

// Changed notes that the registry records of meters ids changed.
func (l *MeterList) Changed(ids ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.loaded {
		return // the first Meters reads them all
	}
	if l.changed == nil {
		l.changed = map[string]bool{}
	}
	for _, id := range ids {
		l.changed[id] = true
	}
}

// Meters returns every meter of the registry, each with the fields of
// checked only (the caller must not modify the slice): the whole registry on the first call (and when more than an
// eighth of it, or 16 meters, changed: a bulk registration), else the list kept,
// with the meters changed since the last call read again.
func (l *MeterList) Meters(ctx context.Context) ([]meter.Meter, error) {
	l.read.Lock()
	defer l.read.Unlock()
	l.mu.Lock()
	loaded, changed := l.loaded, l.changed
	l.loaded, l.changed = true, nil
	l.mu.Unlock()
	if !loaded || len(changed) > max(16, len(l.list)/8) {
		ms, err := l.Store.Meters(ctx, store.Filter{})
		if err != nil {
			l.mu.Lock()
			l.loaded = loaded
			l.mu.Unlock()
			l.Changed(slices.Collect(maps.Keys(changed))...)
			return nil, err
		}
		for i := range ms {
			ms[i] = checked(ms[i])
		}
		l.set(ms)
		return ms, nil
	}
	if len(changed) == 0 {
		return l.list, nil
	}
	ids := slices.Sorted(maps.Keys(changed))
	list := slices.Clone(l.list)
	for _, id := range ids {
		m, err := l.Store.Meter(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			if i, ok := l.index[id]; ok {
				list[i].ID = "" // removed below
			}
		case err != nil:
			l.Changed(ids...) // read again at the next call
			return nil, fmt.Errorf("meter %s: %w", id, err)
		default:
			if i, ok := l.index[id]; ok {
				list[i] = checked(m)
			} else {
				list = append(list, checked(m))
			}
		}
	}
	list = slices.DeleteFunc(list, func(m meter.Meter) bool { return m.ID == "" })
	l.set(list)
	return list, nil
}

// checked is what the offline check reads of a meter's registry record
// (offlineRound): its ID, whether it is revoked, when it was registered
// and its reporting interval.
func checked(m meter.Meter) meter.Meter {
	return meter.Meter{ID: m.ID, Revoked: m.Revoked, Registered: m.Registered, Interval: m.Interval}
}

// set keeps ms as the list, indexed by meter ID.
func (l *MeterList) set(ms []meter.Meter) {
	l.list = ms
	l.index = make(map[string]int, len(ms))
	for i, m := range ms {
		l.index[m.ID] = i
	}
}
