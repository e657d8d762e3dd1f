package registry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// Points registers metering points through the ledger: a point, and each
// new version of it, is a point entry (reading.PointEntry) signed with the
// log key and sequenced before the registry changes, so that the points an
// enterprise's balance is computed over can be re-derived from the ledger
// alone (shuixiao verify balance).
type Points struct {
	Store  store.Registry
	Ledger Signer
	Ingest Sequencer
	Now    func() time.Time
}

// Create puts a new point on the ledger, then in the registry, and returns
// the entry's ledger index. A point that exists is store.ErrExists, an
// unknown enterprise or parent store.ErrNotFound.
func (ps *Points) Create(ctx context.Context, p meter.Point) (uint64, error) {
	return ps.put(ctx, p, true)
}

// Update puts a new version of a point on the ledger, then in the
// registry. An unknown point is store.ErrNotFound; a point cannot move to
// another enterprise. An update that changes nothing adds no entry and
// returns index 0.
func (ps *Points) Update(ctx context.Context, p meter.Point) (uint64, error) {
	return ps.put(ctx, p, false)
}

func (ps *Points) put(ctx context.Context, p meter.Point, create bool) (uint64, error) {
	if err := p.Validate(); err != nil {
		return 0, invalid("%v", err)
	}
	old, err := ps.Store.Point(ctx, p.ID)
	switch {
	case err == nil && create:
		return 0, fmt.Errorf("point %s: %w", p.ID, store.ErrExists)
	case errors.Is(err, store.ErrNotFound) && !create:
		return 0, err
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return 0, err
	}
	if !create {
		if old.Enterprise != p.Enterprise {
			return 0, conflict("point %s belongs to enterprise %s; it cannot move to %s", p.ID, old.Enterprise, p.Enterprise)
		}
		if reflect.DeepEqual(old, p) {
			return 0, nil
		}
	}
	if _, err := ps.Store.Enterprise(ctx, p.Enterprise); err != nil {
		return 0, err
	}
	if err := ps.checkParents(ctx, p); err != nil {
		return 0, err
	}
	pe := p.LedgerEntry(ps.Now())
	if err := pe.Validate(); err != nil {
		return 0, invalid("%v", err)
	}
	return ps.submit(ctx, pe)
}

// checkParents refuses a parent chain that leaves the enterprise or loops,
// before anything reaches the ledger (the store checks it again).
func (ps *Points) checkParents(ctx context.Context, p meter.Point) error {
	for up, depth := p.Parent, 0; up != ""; depth++ {
		if up == p.ID || depth > 16 {
			return invalid("point %s: parent chain loops", p.ID)
		}
		q, err := ps.Store.Point(ctx, up)
		if err != nil {
			return fmt.Errorf("point %s: parent: %w", p.ID, err)
		}
		if q.Enterprise != p.Enterprise {
			return invalid("point %s: parent %s belongs to enterprise %s", p.ID, up, q.Enterprise)
		}
		up = q.Parent
	}
	return nil
}

// submit signs a point entry with the log key and sequences it; the
// registry changes when the entry is applied, in ledger order.
func (ps *Points) submit(ctx context.Context, pe *reading.PointEntry) (uint64, error) {
	signed, err := ps.Ledger.SignNote(pe.Text())
	if err != nil {
		return 0, err
	}
	return ps.Ingest.SubmitEntry(ctx, ps.entry(signed, pe))
}

// entry is the ledger entry of a signed point entry, with how it applies.
func (ps *Points) entry(signed []byte, pe *reading.PointEntry) ingest.Entry {
	return ingest.Entry{Raw: signed, Prompt: true, Apply: func(ctx context.Context, _ uint64) error {
		return ingest.ApplyPointEntry(ctx, ps.Store, pe)
	}}
}

// Migrate puts on the ledger every stored point whose latest version in
// the ledger (read from l) is missing or differs from the stored one — the
// points registered before points were ledger entries. It is idempotent:
// run again, it finds every point on the ledger and adds nothing. It
// returns the number of entries added.
func (ps *Points) Migrate(ctx context.Context, l ingest.LedgerReader) (int, error) {
	size, err := l.Size(ctx)
	if err != nil {
		return 0, err
	}
	onLedger := map[string]*reading.PointEntry{}
	err = l.Entries(ctx, 0, size, func(_ uint64, entry []byte) error {
		if reading.Kind(entry) != reading.PointHeader {
			return nil
		}
		if pe, err := reading.ParsePointEntry(entry); err == nil {
			onLedger[pe.Point] = pe
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("read the ledger's point entries: %w", err)
	}
	points, err := ps.Store.Points(ctx, store.Filter{})
	if err != nil {
		return 0, err
	}
	// Parents first, so that a store rebuilt from the ledger finds each
	// point's parent registered before it.
	depth := map[string]int{}
	parent := map[string]string{}
	for _, p := range points {
		parent[p.ID] = p.Parent
	}
	for _, p := range points {
		for up := p.Parent; up != "" && depth[p.ID] <= len(points); up = parent[up] {
			depth[p.ID]++
		}
	}
	slices.SortStableFunc(points, func(a, b meter.Point) int { return cmp.Compare(depth[a.ID], depth[b.ID]) })
	added := 0
	for _, p := range points {
		if pe, ok := onLedger[p.ID]; ok {
			if q, err := meter.PointOf(pe); err == nil && reflect.DeepEqual(q, p) {
				continue
			}
		}
		pe := p.LedgerEntry(ps.Now())
		if err := pe.Validate(); err != nil {
			return added, fmt.Errorf("point %s cannot be put on the ledger: %w", p.ID, err)
		}
		if _, err := ps.submit(ctx, pe); err != nil {
			return added, fmt.Errorf("point %s: %w", p.ID, err)
		}
		added++
	}
	return added, nil
}
