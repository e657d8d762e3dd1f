package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// Bulk registration: a province registers its points and meters in
// thousands, not one request each. A batch is all or nothing: every item is
// checked against the registry and against the items before it first, and
// only a batch with no bad item reaches the ledger, its entries queued
// together so that the sequencer appends them in as few synced batches as
// it may (ingest.Pipeline.SubmitEntries).

// MaxBatch bounds the items of one bulk registration.
const MaxBatch = 10000

// BatchSequencer sequences many non-reading ledger entries together
// (*ingest.Pipeline).
type BatchSequencer interface {
	SubmitEntries(ctx context.Context, es []ingest.Entry) ([]uint64, error)
}

// ItemError is a refused item of a batch: its index (from 0) and the
// request field at fault ("" when the item as a whole is).
type ItemError struct {
	Index int
	Field string
	Err   error
}

func (e *ItemError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("item %d: %v", e.Index, e.Err)
	}
	return fmt.Sprintf("item %d, field %s: %v", e.Index, e.Field, e.Err)
}

func (e *ItemError) Unwrap() error { return e.Err }

// BatchError is a refused batch: every bad item found (at most
// maxItemErrors), none of the batch stored. It matches ErrInvalid or
// ErrConflict as its first item does.
type BatchError struct{ Items []*ItemError }

const maxItemErrors = 100

func (e *BatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "batch refused, nothing stored: %d bad item(s)", len(e.Items))
	for _, it := range e.Items {
		b.WriteString("\n")
		b.WriteString(it.Error())
	}
	return b.String()
}

func (e *BatchError) Unwrap() error { return e.Items[0] }

// fieldErr is a refusal of one request field.
type fieldErr struct {
	field string
	err   error
}

func (e *fieldErr) Error() string { return e.err.Error() }
func (e *fieldErr) Unwrap() error { return e.err }

func fieldError(field string, err error) error { return &fieldErr{field: field, err: err} }

// itemError makes err, from checking item i, an ItemError; an error that
// is not a refusal (the store failing) is returned as it is.
func itemError(i int, err error) (*ItemError, error) {
	var fe *fieldErr
	switch {
	case errors.As(err, &fe):
		return &ItemError{Index: i, Field: fe.field, Err: fe.err}, nil
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrConflict), errors.Is(err, store.ErrNotFound),
		errors.Is(err, store.ErrExists), errors.Is(err, store.ErrInvalid):
		return &ItemError{Index: i, Err: err}, nil
	}
	return nil, fmt.Errorf("item %d: %w", i, err)
}

// collect gathers item refusals; add returns a non-nil error only when
// checking failed for another reason than a refusal.
type collect struct{ items []*ItemError }

func (c *collect) add(i int, err error) error {
	ie, other := itemError(i, err)
	if other != nil {
		return other
	}
	if len(c.items) < maxItemErrors {
		c.items = append(c.items, ie)
	}
	return nil
}

func (c *collect) err() error {
	if len(c.items) == 0 {
		return nil
	}
	return &BatchError{Items: c.items}
}

func checkBatchSize(n int) error {
	if n < 1 || n > MaxBatch {
		return invalid("a batch holds 1 to %d items, not %d", MaxBatch, n)
	}
	return nil
}

// CreateMany registers new points, all or none: each is checked as Create
// checks one (a parent may be an earlier point of the batch), then their
// entries go on the ledger together. It returns each point's ledger index.
func (ps *Points) CreateMany(ctx context.Context, points []meter.Point, seq BatchSequencer) ([]uint64, error) {
	if err := checkBatchSize(len(points)); err != nil {
		return nil, err
	}
	var bad collect
	batch := make(map[string]meter.Point, len(points))
	enterprises := map[string]error{}
	entries := make([]ingest.Entry, 0, len(points))
	pes := make([]*reading.PointEntry, 0, len(points))
	group := &ingest.EntryGroup{Apply: func(ctx context.Context, members []int, _ []uint64) error {
		return ps.applyPoints(ctx, pes, members)
	}}
	for i, p := range points {
		err := ps.checkNew(ctx, p, batch, enterprises)
		if err == nil {
			if _, dup := batch[p.ID]; dup {
				err = fieldError("id", conflict("point %s appears twice in the batch", p.ID))
			}
		}
		if err != nil {
			if err := bad.add(i, err); err != nil {
				return nil, err
			}
			continue
		}
		batch[p.ID] = p
		pe := p.LedgerEntry(ps.Now())
		signed, err := ps.Ledger.SignNote(pe.Text())
		if err != nil {
			return nil, err
		}
		e := ps.entry(signed, pe)
		e.Group, e.Member = group, len(pes)
		entries = append(entries, e)
		pes = append(pes, pe)
	}
	if err := bad.err(); err != nil {
		return nil, err
	}
	return seq.SubmitEntries(ctx, entries)
}

// applyPoints applies the point entries pes[members] in one store
// transaction when the store can (store.BulkRegistry), else, or if that
// fails (some applied before), one by one as ever.
func (ps *Points) applyPoints(ctx context.Context, pes []*reading.PointEntry, members []int) error {
	if bulk, ok := ps.Store.(store.BulkRegistry); ok {
		pts := make([]meter.Point, len(members))
		var err error
		for k, i := range members {
			if pts[k], err = meter.PointOf(pes[i]); err != nil {
				break
			}
		}
		if err == nil && bulk.CreatePoints(ctx, pts) == nil {
			return nil
		}
	}
	for _, i := range members {
		if err := ingest.ApplyPointEntry(ctx, ps.Store, pes[i]); err != nil {
			return err
		}
	}
	return nil
}

// checkNew checks a point to be created, whose parent may be in batch.
func (ps *Points) checkNew(ctx context.Context, p meter.Point, batch map[string]meter.Point, enterprises map[string]error) error {
	if err := p.Validate(); err != nil {
		return invalid("%v", err)
	}
	if _, err := ps.Store.Point(ctx, p.ID); err == nil {
		return fieldError("id", fmt.Errorf("point %s: %w", p.ID, store.ErrExists))
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	err, seen := enterprises[p.Enterprise]
	if !seen {
		_, err = ps.Store.Enterprise(ctx, p.Enterprise)
		enterprises[p.Enterprise] = err
	}
	if err != nil {
		return fieldError("enterprise", fmt.Errorf("enterprise %s: %w", p.Enterprise, err))
	}
	for up, depth := p.Parent, 0; up != ""; depth++ {
		if up == p.ID || depth > 16 {
			return fieldError("parent", invalid("point %s: parent chain loops", p.ID))
		}
		q, ok := batch[up]
		if !ok {
			if q, err = ps.Store.Point(ctx, up); err != nil {
				return fieldError("parent", fmt.Errorf("point %s: parent: %w", p.ID, err))
			}
		}
		if q.Enterprise != p.Enterprise {
			return fieldError("parent", invalid("point %s: parent %s belongs to enterprise %s", p.ID, up, q.Enterprise))
		}
		up = q.Parent
	}
	return nil
}

// RegisterMany registers meters, all or none: each is checked as Register
// checks one, then their key entries go on the ledger together. A new
// meter's MQTT password is stored in the store transaction that registers
// it, those of a ledger batch's entries in one; a meter registered already
// with the same key, point and collector is not registered again (Created
// false), and the passwords of those are stored in one more transaction.
// Where the store or the devices cannot take meters in bulk
// (store.BulkRegistry, meterDirectory), each is set as Register sets one.
func (ms *Meters) RegisterMany(ctx context.Context, reqs []Registration, seq BatchSequencer) ([]Registered, error) {
	if err := checkBatchSize(len(reqs)); err != nil {
		return nil, err
	}
	var bad collect
	seen := make(map[string]bool, len(reqs))
	prs := make([]*prepared, len(reqs))
	var entries []ingest.Entry
	var fresh []int // the items whose entries those are
	group := &ingest.EntryGroup{Apply: func(ctx context.Context, members []int, _ []uint64) error {
		return ms.applyMeters(ctx, prs, fresh, members)
	}}
	// The gateways, looked up once for the batch (collectors repeat).
	all, err := ms.Store.Gateways(ctx)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]meter.Gateway, len(all))
	for _, g := range all {
		byID[g.ID] = g
	}
	gateways := func(_ context.Context, id string) (meter.Gateway, error) {
		if g, ok := byID[id]; ok {
			return g, nil
		}
		return meter.Gateway{}, fmt.Errorf("gateway %s: %w", id, store.ErrNotFound)
	}
	for i, req := range reqs {
		pr, err := ms.prepare(ctx, req, gateways)
		if err == nil && seen[req.ID] {
			err = fieldError("id", conflict("meter %s appears twice in the batch", req.ID))
		}
		if err != nil {
			if err := bad.add(i, err); err != nil {
				return nil, err
			}
			continue
		}
		seen[req.ID] = true
		prs[i] = pr
		if pr.secret, err = secretRecord(req.ID, req.MQTTPassword); err != nil {
			return nil, err
		}
		if pr.entry != nil {
			signed, err := ms.Ledger.SignNote(pr.entry.Text())
			if err != nil {
				return nil, err
			}
			e := ms.entry(signed, pr.entry, pr.extra(), pr.secret)
			// Applied alone (a batch the store refused, set aside), the
			// entry stores its password itself.
			apply := e.Apply
			e.Apply = func(ctx context.Context, index uint64) error {
				if err := apply(ctx, index); err != nil {
					return err
				}
				pr.secretStored = true
				return nil
			}
			e.Group, e.Member = group, len(fresh)
			entries = append(entries, e)
			fresh = append(fresh, i)
		}
	}
	if err := bad.err(); err != nil {
		return nil, err
	}
	out := make([]Registered, len(reqs))
	if len(entries) > 0 {
		idx, err := seq.SubmitEntries(ctx, entries)
		if err != nil {
			return nil, err
		}
		for k, i := range fresh {
			out[i] = Registered{Created: true, Index: idx[k]}
		}
	}
	if err := ms.setSecrets(ctx, prs); err != nil {
		return nil, err
	}
	for i, pr := range prs {
		out[i].Meter, out[i].Enterprise = pr.old, pr.point.Enterprise
		if out[i].Created {
			out[i].Meter = ingest.MeterOf(pr.entry, pr.extra())
		}
	}
	return out, nil
}

// setSecrets stores the passwords of a batch's meters that applying their
// key entries did not store: of the meters registered before (no key entry),
// or of an entry the pipeline had to apply alone. In one store transaction
// when the store and the devices can, else one by one.
func (ms *Meters) setSecrets(ctx context.Context, prs []*prepared) error {
	var secrets []store.DeviceSecret
	var items []int
	for i, pr := range prs {
		if pr.secret != "" && !pr.secretStored {
			secrets = append(secrets, store.DeviceSecret{Device: pr.req.ID, Record: pr.secret})
			items = append(items, i)
		}
	}
	if len(secrets) == 0 {
		return nil
	}
	bulk, okStore := ms.Store.(store.BulkRegistry)
	dir, okDir := ms.Devices.(meterDirectory)
	if okStore && okDir {
		if err := bulk.CreateMeters(ctx, nil, secrets); err != nil {
			return fmt.Errorf("passwords: %w", err)
		}
		dir.SecretsStored(secrets)
		return nil
	}
	for _, i := range items {
		if err := ms.setSecret(ctx, prs[i].req); err != nil {
			return fmt.Errorf("item %d: %w", i, err)
		}
	}
	return nil
}

// meterDirectory is Devices that takes many new meters at once, their
// records and points given (*devicecred.Credentials).
type meterDirectory interface {
	// PutMeters takes the meters a transaction stored with the MQTT
	// password records (devicecred.HashSecret's) it stored with them, and
	// tells of each device once.
	PutMeters(ms []meter.Meter, ps []meter.Point, secrets []store.DeviceSecret) error
	// SecretsStored is told of MQTT password records the registry stored
	// itself alone (of meters registered before).
	SecretsStored(secrets []store.DeviceSecret)
}

// applyMeters applies the key entries of the registrations
// prs[fresh[members]], with their MQTT passwords, in one store transaction
// and puts the meters in the key directory when store and directory can
// (store.BulkRegistry, meterDirectory), else, or if that fails (some
// applied before), one by one as ever.
func (ms *Meters) applyMeters(ctx context.Context, prs []*prepared, fresh, members []int) error {
	bulk, okStore := ms.Store.(store.BulkRegistry)
	dir, okDir := ms.Devices.(meterDirectory)
	if okStore && okDir {
		recs := make([]meter.Meter, len(members))
		pts := make([]meter.Point, len(members))
		var secrets []store.DeviceSecret
		for k, j := range members {
			pr := prs[fresh[j]]
			recs[k], pts[k] = ingest.MeterOf(pr.entry, pr.extra()), pr.point
			if pr.secret != "" {
				secrets = append(secrets, store.DeviceSecret{Device: pr.req.ID, Record: pr.secret})
			}
		}
		if bulk.CreateMeters(ctx, recs, secrets) == nil {
			for _, j := range members {
				prs[fresh[j]].secretStored = true
			}
			return dir.PutMeters(recs, pts, secrets)
		}
	}
	for _, j := range members {
		pr := prs[fresh[j]]
		// The entry stores its password as it is applied (entry).
		if err := ms.entry(nil, pr.entry, pr.extra(), pr.secret).Apply(ctx, 0); err != nil {
			return err
		}
		pr.secretStored = true
	}
	return nil
}
