package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/command"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/quarantine"
	"github.com/shuixiao/shuixiao/quotacase"
	"github.com/shuixiao/shuixiao/rejection"
	"github.com/shuixiao/shuixiao/workorder"
)

// Report is what a migration did and found.
type Report struct {
	Counts  []Count
	Digests []Pair
}

// Count is a table's rows on each side.
type Count struct {
	What           string
	Source, Target int64
}

// Pair is one kind of record's digest on each side.
type Pair struct {
	What           string
	Source, Target Sum
}

// Sum is the digest of one kind of record as the store interfaces return
// them: how many, and the SHA-256 of their JSON lines.
type Sum struct {
	What  string
	Count int
	Hash  string
}

// OK tells whether every count and digest agrees.
func (r Report) OK() bool { return len(r.Mismatches()) == 0 }

// Mismatches names what differs.
func (r Report) Mismatches() []string {
	var out []string
	for _, c := range r.Counts {
		if c.Source != c.Target {
			out = append(out, fmt.Sprintf("%s: %d rows in SQLite, %d in PostgreSQL", c.What, c.Source, c.Target))
		}
	}
	for _, d := range r.Digests {
		if d.Source != d.Target {
			out = append(out, fmt.Sprintf("%s: %d records %s… in SQLite, %d records %s… in PostgreSQL",
				d.What, d.Source.Count, d.Source.Hash[:12], d.Target.Count, d.Target.Hash[:12]))
		}
	}
	return out
}

// everything is a limit no store reaches.
const everything = 1 << 30

// digester accumulates one kind of record.
type digester struct {
	sum  Sum
	h    hash.Hash
	errs []error
}

func newDigester(what string) *digester { return &digester{sum: Sum{What: what}, h: sha256.New()} }

func (d *digester) add(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		d.errs = append(d.errs, err)
		return
	}
	d.h.Write(b)
	d.h.Write([]byte{'\n'})
	d.sum.Count++
}

func (d *digester) done() Sum {
	d.sum.Hash = hex.EncodeToString(d.h.Sum(nil))
	return d.sum
}

func addAll[T any](d *digester, xs []T) {
	for _, x := range xs {
		d.add(x)
	}
}

// Digest reads every kind of record of a store through its interfaces.
// Both stores are read the same way, so equal digests mean the records a
// server would serve are equal.
func Digest(ctx context.Context, st Store) ([]Sum, error) {
	var out []Sum
	var firstErr error
	kind := func(what string, fill func(d *digester) error) {
		if firstErr != nil {
			return
		}
		d := newDigester(what)
		if err := fill(d); err != nil {
			firstErr = fmt.Errorf("%s: %w", what, err)
			return
		}
		if len(d.errs) > 0 {
			firstErr = fmt.Errorf("%s: %w", what, d.errs[0])
			return
		}
		out = append(out, d.done())
	}
	kind("regions", func(d *digester) error { xs, err := st.Regions(ctx); addAll(d, xs); return err })
	kind("parks", func(d *digester) error { xs, err := st.Parks(ctx, store.Filter{}); addAll(d, xs); return err })
	kind("enterprises", func(d *digester) error { xs, err := st.Enterprises(ctx, store.Filter{}); addAll(d, xs); return err })
	kind("points", func(d *digester) error { xs, err := st.Points(ctx, store.Filter{}); addAll(d, xs); return err })
	meters, err := st.Meters(ctx, store.Filter{})
	if err != nil {
		return nil, err
	}
	kind("meters", func(d *digester) error { addAll(d, meters); return nil })
	kind("meter_collectors", func(d *digester) error {
		for _, m := range meters {
			if m.Collector != "" {
				d.add([2]string{m.ID, m.Collector})
			}
		}
		return nil
	})
	kind("gateways", func(d *digester) error { xs, err := st.Gateways(ctx); addAll(d, xs); return err })
	kind("device_mappings", func(d *digester) error { xs, err := st.DeviceMappings(ctx, ""); addAll(d, xs); return err })
	kind("device_secrets", func(d *digester) error {
		for _, m := range meters {
			rec, err := st.DeviceSecret(ctx, m.ID)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			d.add([2]string{m.ID, rec})
		}
		return nil
	})
	kind("readings", func(d *digester) error {
		for _, m := range meters {
			err := st.ScanReadings(ctx, store.ReadingQuery{Meter: m.ID}, func(r *store.Reading) error {
				d.add(struct {
					store.Reading
					Hash string `json:"hash"`
				}{*r, hex.EncodeToString(r.Hash[:])})
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	kind("admission_states", func(d *digester) error {
		xs, err := st.AdmissionStates(ctx)
		for _, x := range xs {
			d.add(struct {
				store.MeterState
				Hash string `json:"hash"`
			}{x, hex.EncodeToString(x.Hash[:])})
		}
		return err
	})
	kind("ledger_size", func(d *digester) error { n, err := st.LedgerSize(ctx); d.add(n); return err })
	kind("tokens", func(d *digester) error { xs, err := st.Tokens(ctx); addAll(d, xs); return err })
	kind("alarms", func(d *digester) error {
		xs, err := st.Alarms(ctx, alarm.Filter{Limit: everything})
		if err != nil {
			return err
		}
		for _, a := range xs {
			h, err := st.AlarmHistory(ctx, a.ID)
			if err != nil {
				return err
			}
			d.add(a)
			addAll(d, h)
		}
		return nil
	})
	kind("networks", func(d *digester) error {
		ns, err := st.Networks(ctx, store.NetworkFilter{})
		if err != nil {
			return err
		}
		for _, n := range ns {
			d.add(n)
			ls, err := st.LeakEvents(ctx, n.ID, everything)
			if err != nil {
				return err
			}
			addAll(d, ls)
		}
		return nil
	})
	kind("work_orders", func(d *digester) error {
		ws, err := st.WorkOrders(ctx, workorder.Filter{Limit: everything})
		if err != nil {
			return err
		}
		for _, w := range ws {
			h, err := st.WorkOrderHistory(ctx, w.ID)
			if err != nil {
				return err
			}
			d.add(w)
			addAll(d, h)
		}
		return nil
	})
	kind("plants", func(d *digester) error { xs, err := st.Plants(ctx, ""); addAll(d, xs); return err })
	kind("commands", func(d *digester) error {
		xs, err := st.Commands(ctx, command.Query{Limit: everything})
		addAll(d, xs)
		return err
	})
	kind("overrides", func(d *digester) error { xs, err := st.Overrides(ctx, ""); addAll(d, xs); return err })
	kind("rejection_counts", func(d *digester) error {
		xs, err := st.RejectionCounts(ctx, rejection.Filter{})
		addAll(d, xs)
		return err
	})
	kind("recent_rejections", func(d *digester) error {
		xs, err := st.RecentRejections(ctx, rejection.Filter{}, everything)
		addAll(d, xs)
		return err
	})
	kind("quarantine", func(d *digester) error {
		xs, err := st.Quarantined(ctx, quarantine.Filter{Limit: quarantine.MaxLimit})
		addAll(d, xs)
		return err
	})
	kind("audit", func(d *digester) error {
		after := int64(0)
		for {
			xs, err := st.AuditLog(ctx, store.AuditQuery{After: after, Limit: store.MaxAuditPage})
			if err != nil {
				return err
			}
			addAll(d, xs)
			if len(xs) < store.MaxAuditPage {
				return nil
			}
			after = xs[len(xs)-1].ID
		}
	})
	kind("production", func(d *digester) error {
		xs, err := st.ProductionRecords(ctx, production.Filter{})
		addAll(d, xs)
		return err
	})
	kind("quota_cases", func(d *digester) error {
		xs, err := st.QuotaCases(ctx, quotacase.Filter{Limit: everything})
		if err != nil {
			return err
		}
		for _, c := range xs {
			full, err := st.QuotaCase(ctx, c.ID)
			if err != nil {
				return err
			}
			d.add(full)
		}
		return nil
	})
	return out, firstErr
}
