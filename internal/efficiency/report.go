package efficiency

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/report"
)

// Names is what a report reads besides the balance: the names of the
// enterprise's region and park, and its meters for the trust of the data.
type Names interface {
	Region(ctx context.Context, code string) (meter.Region, error)
	Park(ctx context.Context, id string) (meter.Park, error)
	Meters(ctx context.Context, f store.Filter) ([]meter.Meter, error)
}

// EnterpriseTrust is the trust of the data behind an enterprise's balance
// (meter.BalanceTrustOf its registered meters): what the balance route
// answers beside the figures and the report states.
func EnterpriseTrust(ctx context.Context, st interface {
	Meters(ctx context.Context, f store.Filter) ([]meter.Meter, error)
}, enterprise string) (meter.BalanceTrust, error) {
	ms, err := st.Meters(ctx, store.Filter{Enterprise: enterprise})
	if err != nil {
		return meter.BalanceTrust{}, err
	}
	return meter.BalanceTrustOf(ms), nil
}

// ReportDoc is the water-balance test report (package report) of a
// balance from EnterpriseBalance: the same figures, the names of the
// enterprise's region, park and industry, the trust of the data
// (EnterpriseTrust) and the checkpoint the caller read before the balance.
func ReportDoc(ctx context.Context, names Names, res Result, source string, now time.Time) (report.Doc, error) {
	e := res.Enterprise
	d := report.Doc{Enterprise: e, From: res.From, To: res.To, Points: res.Points, Volumes: res.Volumes, Report: res.Report,
		Basis: "metered", Source: source, LedgerSize: res.LedgerSize, Generated: now}
	if ind, ok := meter.IndustryByCode(e.Industry); ok {
		d.IndustryName = ind.Name
	}
	if e.Region != "" {
		r, err := names.Region(ctx, e.Region)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return report.Doc{}, err
		}
		d.RegionName = r.Name
	}
	if e.Park != "" {
		p, err := names.Park(ctx, e.Park)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return report.Doc{}, err
		}
		d.ParkName = p.Name
	}
	trust, err := EnterpriseTrust(ctx, names, e.ID)
	if err != nil {
		return report.Doc{}, err
	}
	d.Trust = &trust
	if res.Report.ValueAddedGiven && res.ValueAdded != nil {
		d.ValueAdded = res.ValueAdded.Value
	}
	if c := res.Checkpoint; c != nil && c.Text != "" {
		cp, err := report.ParseCheckpoint([]byte(c.Text))
		if err != nil {
			return report.Doc{}, fmt.Errorf("ledger checkpoint: %w", err)
		}
		d.Checkpoint = &cp
	}
	return d, nil
}
