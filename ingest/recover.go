package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/store"
)

// LedgerReader reads back integrated ledger entries.
type LedgerReader interface {
	Size(ctx context.Context) (uint64, error)
	Entries(ctx context.Context, from, to uint64, fn func(index uint64, entry []byte) error) error
}

// CatchUpStore is what catching up needs of the store.
type CatchUpStore interface {
	store.Registry
	store.Ingester
}

// CatchUp brings the store level with the ledger after a crash: every entry
// the ledger sequenced but the store had not committed is applied in ledger
// order — key entries to the registry (and through onKey to the caller's
// key directory), readings to the store with flags recomputed. The ledger is
// the record; the store is derived from it. Entries that do not verify are
// logged and skipped (the verifier will report them); they are never stored.
// It returns the number of entries applied.
//
// Entries of other kinds signed by the log key (actuator commands) are passed
// to onOther, if set, after their signature is checked.
func CatchUp(ctx context.Context, l LedgerReader, st CatchUpStore, logKey note.Verifier, dir *Directory,
	onKey func(ctx context.Context, ke *reading.KeyEntry) error,
	onOther func(ctx context.Context, index uint64, entry []byte) error, now time.Time, logger *slog.Logger) (int, error) {
	from, err := st.LedgerSize(ctx)
	if err != nil {
		return 0, err
	}
	to, err := l.Size(ctx)
	if err != nil {
		return 0, err
	}
	if from >= to {
		return 0, nil
	}
	if logger == nil {
		logger = slog.Default()
	}
	logger.Info("store is behind the ledger; catching up", "from", from, "to", to)
	states := map[string]MeterState{}
	list, err := st.AdmissionStates(ctx)
	if err != nil {
		return 0, err
	}
	for _, s := range list {
		states[s.Meter] = MeterState{Seq: s.Seq, Hash: s.Hash, Index: s.Index, Known: true}
	}
	b := &store.Batch{}
	flush := func(size uint64) error {
		b.LedgerSize = size
		if err := st.Commit(ctx, b); err != nil {
			return fmt.Errorf("catch-up commit up to ledger index %d: %w", size, err)
		}
		b = &store.Batch{}
		return nil
	}
	applied := 0
	err = l.Entries(ctx, from, to, func(i uint64, entry []byte) error {
		switch reading.Kind(entry) {
		case reading.KeyHeader:
			if err := flush(i); err != nil {
				return err
			}
			if _, err := note.Open(entry, note.VerifierList(logKey)); err != nil {
				logger.Error("ledger key entry does not verify; skipped", "index", i, "error", err)
				return nil
			}
			ke, err := reading.ParseKeyEntry(entry)
			if err != nil {
				logger.Error("ledger key entry does not parse; skipped", "index", i, "error", err)
				return nil
			}
			if err := ApplyKeyEntry(ctx, st, ke, meter.Meter{}); err != nil {
				return fmt.Errorf("apply key entry %d: %w", i, err)
			}
			if onKey != nil {
				if err := onKey(ctx, ke); err != nil {
					return fmt.Errorf("key entry %d: %w", i, err)
				}
			}
			applied++
		case reading.Header:
			rd, err := reading.Parse(entry)
			if err != nil {
				logger.Error("ledger reading does not parse; skipped", "index", i, "error", err)
				return nil
			}
			dev, ok := dir.Get(rd.Meter)
			if !ok {
				logger.Error("ledger reading of an unknown meter; skipped", "index", i, "meter", rd.Meter)
				return nil
			}
			if _, err := note.Open(entry, dev.verifier); err != nil {
				logger.Error("ledger reading does not verify; skipped", "index", i, "meter", rd.Meter, "error", err)
				return nil
			}
			h := reading.HashOf(entry)
			s := states[rd.Meter]
			if s.Known && rd.Seq <= s.Seq {
				logger.Warn("ledger reading not above the meter's stored seq; skipped", "index", i, "meter", rd.Meter, "seq", rd.Seq)
				return nil
			}
			d := Admit(s, rd, h, time.Time{}, DefaultPolicy) // receive time is unknown: no skew flag
			flags := d.Flags
			for _, v := range rd.Values {
				if c, ok := dev.Channels[v.Channel]; ok && !c.Plausible(v.Value) {
					flags |= store.FlagImplausible
				}
			}
			b.Readings = append(b.Readings, StoreReading(rd, h, i, flags, now))
			states[rd.Meter] = s.Advance(rd, h, i)
			applied++
			if len(b.Readings) >= 1000 {
				return flush(i + 1)
			}
		default:
			if onOther == nil || reading.Kind(entry) == "" {
				logger.Warn("unknown ledger entry kind; skipped", "index", i)
				return nil
			}
			if err := flush(i); err != nil {
				return err
			}
			if _, err := note.Open(entry, note.VerifierList(logKey)); err != nil {
				logger.Error("ledger entry does not verify with the log key; skipped", "index", i, "error", err)
				return nil
			}
			if err := onOther(ctx, i, entry); err != nil {
				return fmt.Errorf("ledger entry %d: %w", i, err)
			}
			applied++
		}
		return nil
	})
	if err != nil {
		return applied, err
	}
	return applied, flush(to)
}
