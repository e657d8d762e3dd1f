package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/quarantine"
	"github.com/shuixiao/shuixiao/reading"
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
// key directory), point entries to the registry, readings to the store with flags recomputed. The ledger is
// the record; the store is derived from it.
//
// An entry the store cannot take is never a reason not to start: it is
// quarantined — logged, and kept in the store as a quarantine record
// with the ledger size that passes it — and catching up goes on. That covers
// entries that do not parse or verify (the verifier reports them too),
// readings of unknown meters, readings outside the validity rule or the
// admission policy's seq bound, readings not above their meter's stored seq,
// and readings the store refuses. It returns the number of entries applied
// and the records of those set aside; an error means the ledger or the store
// could not be read or written at all.
//
// Readings are admitted under policy (zero fields: DefaultPolicy's), which
// should be the pipeline's, so that catching up sets aside no reading the
// pipeline had admitted. Entries of other kinds signed by the log key
// (actuator commands) are passed to onOther, if set, after their signature
// is checked.
func CatchUp(ctx context.Context, l LedgerReader, st CatchUpStore, logKey note.Verifier, dir *Directory, policy Policy,
	onKey func(ctx context.Context, ke *reading.KeyEntry) error,
	onOther func(ctx context.Context, index uint64, entry []byte) error, now time.Time, logger *slog.Logger) (int, []quarantine.Record, error) {
	from, err := st.LedgerSize(ctx)
	if err != nil {
		return 0, nil, err
	}
	to, err := l.Size(ctx)
	if err != nil {
		return 0, nil, err
	}
	if from >= to {
		return 0, nil, nil
	}
	if logger == nil {
		logger = slog.Default()
	}
	logger.Info("store is behind the ledger; catching up", "from", from, "to", to)
	policy = policy.withDefaults()
	states := map[string]MeterState{}
	list, err := st.AdmissionStates(ctx)
	if err != nil {
		return 0, nil, err
	}
	for _, s := range list {
		states[s.Meter] = MeterState{Seq: s.Seq, Hash: s.Hash, Index: s.Index, Known: true}
	}
	var quarantined []quarantine.Record
	applied := 0
	b := &store.Batch{}
	flush := func(size uint64) error {
		b.LedgerSize = size
		if _, err := commitOrSetAside(ctx, st, b, now, once); err != nil {
			return fmt.Errorf("catch-up commit up to ledger index %d: %w", size, err)
		}
		applied += len(b.Readings)
		for _, q := range b.Quarantined {
			logger.Error("ledger entry quarantined: the store cannot take it", "index", q.Index, "meter", q.Meter, "seq", q.Seq, "reason", q.Reason, "detail", q.Detail)
		}
		quarantined = append(quarantined, b.Quarantined...)
		b = &store.Batch{}
		return nil
	}
	// setAside quarantines entry i; it is committed with the next flush.
	setAside := func(i uint64, meterID string, seq uint64, reason string, detail string) {
		b.Quarantined = append(b.Quarantined, quarantine.Record{Index: i, Meter: meterID, Seq: seq, Reason: reason, Detail: detail, Time: now})
	}
	// signedByLog flushes what precedes entry i, an entry of the log key's
	// own, and reports whether its signature verifies (else it is set aside).
	signedByLog := func(i uint64, entry []byte, what string) (bool, error) {
		if err := flush(i); err != nil {
			return false, err
		}
		if _, err := note.Open(entry, note.VerifierList(logKey)); err != nil {
			setAside(i, "", 0, ReasonBadSignature, what+" does not verify with the log key: "+err.Error())
			return false, nil
		}
		return true, nil
	}
	// refused sets entry i aside if the store refused it for good.
	refused := func(i uint64, meterID, what string, err error) error {
		if !permanent(err) {
			return fmt.Errorf("apply %s %d: %w", what, i, err)
		}
		setAside(i, meterID, 0, ReasonStoreRefused, "apply "+what+": "+err.Error())
		return nil
	}
	err = l.Entries(ctx, from, to, func(i uint64, entry []byte) error {
		switch reading.Kind(entry) {
		case reading.KeyHeader:
			if ok, err := signedByLog(i, entry, "key entry"); !ok {
				return err
			}
			ke, err := reading.ParseKeyEntry(entry)
			if err != nil {
				setAside(i, "", 0, ReasonMalformed, "key entry: "+err.Error())
				return nil
			}
			if err := ApplyKeyEntry(ctx, st, ke, meter.Meter{}); err != nil {
				return refused(i, ke.Meter, "key entry for "+ke.Subject(), err)
			}
			if onKey != nil {
				if err := onKey(ctx, ke); err != nil {
					return fmt.Errorf("key entry %d: %w", i, err)
				}
			}
			applied++
		case reading.PointHeader:
			if ok, err := signedByLog(i, entry, "point entry"); !ok {
				return err
			}
			pe, err := reading.ParsePointEntry(entry)
			if err != nil {
				setAside(i, "", 0, ReasonMalformed, "point entry: "+err.Error())
				return nil
			}
			if err := ApplyPointEntry(ctx, st, pe); err != nil {
				return refused(i, "", "point entry", err)
			}
			applied++
		case reading.Header:
			rd, err := reading.Parse(entry)
			if err != nil {
				setAside(i, "", 0, ReasonMalformed, err.Error())
				return nil
			}
			dev, ok := dir.Get(rd.Meter)
			if !ok {
				setAside(i, rd.Meter, rd.Seq, ReasonUnknownMeter, "no key registered for meter "+rd.Meter)
				return nil
			}
			verifiers, _, reason, detail := dir.SignerOf(dev, rd)
			if reason != "" {
				setAside(i, rd.Meter, rd.Seq, reason, detail)
				return nil
			}
			if _, err := note.Open(entry, verifiers); err != nil {
				setAside(i, rd.Meter, rd.Seq, ReasonBadSignature, err.Error())
				return nil
			}
			if err := rd.Check(); err != nil {
				setAside(i, rd.Meter, rd.Seq, ReasonInvalid, err.Error())
				return nil
			}
			h := reading.HashOf(entry)
			s := states[rd.Meter]
			d := Admit(s, rd, h, time.Time{}, policy) // receive time is unknown: no skew flag
			switch d.Verdict {
			case Duplicate:
				return nil // committed before the crash, without the ledger size that passes it
			case Stale:
				if r, err := st.ReadingBySeq(ctx, rd.Meter, rd.Seq); err == nil && r.Hash == h {
					return nil // likewise
				} else if err != nil && !errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("ledger reading %d: %w", i, err)
				}
				setAside(i, rd.Meter, rd.Seq, ReasonReplay, fmt.Sprintf("seq %d is not above the meter's stored seq %d", rd.Seq, s.Seq))
				return nil
			case Refuse:
				setAside(i, rd.Meter, rd.Seq, d.Reason, d.Detail)
				return nil
			}
			flags := d.Flags
			for _, v := range rd.Values {
				if c, ok := dev.Channels[v.Channel]; ok && !c.Plausible(v.Value) {
					flags |= store.FlagImplausible
				}
			}
			b.Readings = append(b.Readings, StoreReading(rd, h, i, flags, now))
			states[rd.Meter] = s.Advance(rd, h, i)
			if len(b.Readings) >= 1000 {
				return flush(i + 1)
			}
		default:
			if reading.Kind(entry) == "" {
				setAside(i, "", 0, ReasonMalformed, "unknown ledger entry kind")
				return nil
			}
			if onOther == nil {
				logger.Warn("ledger entry of a kind this server does not apply; skipped", "index", i, "kind", reading.Kind(entry))
				return nil
			}
			if ok, err := signedByLog(i, entry, "entry"); !ok {
				return err
			}
			if err := onOther(ctx, i, entry); err != nil {
				return fmt.Errorf("ledger entry %d: %w", i, err)
			}
			applied++
		}
		return nil
	})
	if err != nil {
		return applied, quarantined, err
	}
	if err := flush(to); err != nil {
		return applied, quarantined, err
	}
	return applied, quarantined, nil
}
