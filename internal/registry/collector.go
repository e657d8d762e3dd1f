package registry

import (
	"context"
	"fmt"

	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// CollectorsMigrated is the outcome of MigrateCollectors.
type CollectorsMigrated struct {
	// Added counts the key entries put on the ledger.
	Added int
	// Left names the meters behind a collector in the store whose entry
	// could not be re-stated, each with why: the ledger would not bear it.
	Left []string
}

// MigrateCollectors puts on the ledger the data collector of every meter
// registered behind one before key entries named it: a meter-signed,
// unrevoked meter whose collector the store holds but whose latest
// registration on the ledger (read from l) names none gets that
// registration again — same meter, enterprise, point, key and time — with
// the collector line, signed by the log key like every key entry, so that
// a registry rebuilt from the ledger alone keeps the collector. It is
// idempotent and crash-safe: it decides from the ledger's own entries, so
// run again (after a crash in the middle too) it re-states only the meters
// still without their collector on the ledger.
//
// A meter whose collector is not a gateway registered and unrevoked on the
// ledger is left as it is (verify log would refuse the entry), and so is
// one whose stored key or point differs from its ledger entry (the ledger
// is the record; the store follows it).
func (ms *Meters) MigrateCollectors(ctx context.Context, l ingest.LedgerReader) (CollectorsMigrated, error) {
	var out CollectorsMigrated
	size, err := l.Size(ctx)
	if err != nil {
		return out, err
	}
	latest := map[string]*reading.KeyEntry{} // meter: its latest registration, nil once revoked
	gateways := map[string]bool{}            // gateway: registered and unrevoked
	err = l.Entries(ctx, 0, size, func(_ uint64, entry []byte) error {
		if reading.Kind(entry) != reading.KeyHeader {
			return nil
		}
		ke, err := reading.ParseKeyEntry(entry)
		if err != nil {
			return nil // verify log reports it; it re-states nothing
		}
		register := ke.Action == reading.ActionRegister
		switch {
		case ke.IsGateway():
			gateways[ke.Gateway] = register
		case register:
			latest[ke.Meter] = ke
		default:
			latest[ke.Meter] = nil
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("read the ledger's key entries: %w", err)
	}
	meters, err := ms.Store.Meters(ctx, store.Filter{})
	if err != nil {
		return out, err
	}
	var batch []ingest.Entry
	for _, m := range meters {
		ke, why := restated(m, latest[m.ID], gateways)
		if ke == nil {
			if why != "" {
				out.Left = append(out.Left, m.ID+": "+why)
			}
			continue
		}
		if err := ke.Validate(); err != nil {
			out.Left = append(out.Left, m.ID+": "+err.Error())
			continue
		}
		signed, err := ms.Ledger.SignNote(ke.Text())
		if err != nil {
			return out, err
		}
		batch = append(batch, ms.entry(signed, ke, meter.Meter{Serial: m.Serial, Model: m.Model, Interval: m.Interval}, ""))
		if len(batch) == migrateBatch {
			if err := ms.sequence(ctx, batch, &out.Added); err != nil {
				return out, err
			}
			batch = batch[:0]
		}
	}
	return out, ms.sequence(ctx, batch, &out.Added)
}

// migrateBatch is how many re-stated key entries MigrateCollectors
// sequences together: one synced ledger append for many, where one each
// took 20 ms (at load 10).
const migrateBatch = 1000

// sequence sequences es, together when the sequencer takes batches, and
// adds to added how many it sequenced.
func (ms *Meters) sequence(ctx context.Context, es []ingest.Entry, added *int) error {
	if seq, ok := ms.Ingest.(BatchSequencer); ok && len(es) > 1 {
		idx, err := seq.SubmitEntries(ctx, es)
		for _, i := range idx {
			if i != 0 {
				*added++
			}
		}
		return err
	}
	for _, e := range es {
		if _, err := ms.Ingest.SubmitEntry(ctx, e); err != nil {
			return err
		}
		*added++
	}
	return nil
}

// restated is the key entry that puts stored meter m's collector on the
// ledger, whose latest registration of m is onLedger (nil: none, or
// revoked since): nil when none is needed, or, with why, when the ledger
// would not bear one.
func restated(m meter.Meter, onLedger *reading.KeyEntry, gateways map[string]bool) (*reading.KeyEntry, string) {
	switch {
	case m.Collector == "" || m.Revoked:
		return nil, ""
	case onLedger == nil:
		return nil, "no active registration on the ledger"
	case onLedger.Collector == m.Collector:
		return nil, ""
	case onLedger.Collector != "":
		return nil, "its ledger registration names collector " + onLedger.Collector
	case onLedger.Key != m.Key || onLedger.Point != m.Point || onLedger.Gateway != "":
		return nil, "its ledger registration has another key, point or signing gateway than the store"
	case !gateways[m.Collector]:
		return nil, "collector " + m.Collector + " is not a registered, unrevoked gateway on the ledger"
	}
	ke := *onLedger
	ke.Collector = m.Collector
	return &ke, ""
}
