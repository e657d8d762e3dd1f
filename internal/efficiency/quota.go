package efficiency

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/quotacase"
)

// CaseRef is the case of a board row.
type CaseRef struct {
	ID       int64           `json:"id"`
	State    quotacase.State `json:"state"`
	Deadline time.Time       `json:"deadline"`
}

// BoardRow is one enterprise and product on the quota board.
type BoardRow struct {
	Enterprise     string   `json:"enterprise"`
	EnterpriseName string   `json:"enterprise_name"`
	EnterpriseEN   string   `json:"enterprise_name_en,omitempty"`
	Park           string   `json:"park"`
	Region         string   `json:"region"`
	Industry       string   `json:"industry"`
	Product        string   `json:"product"`
	Unit           string   `json:"unit"`   // m3/<unit of output>
	Output         float64  `json:"output"` // declared output over the period
	OutputUnit     string   `json:"output_unit"`
	Value          *float64 `json:"value"` // intake per unit; null when not given
	LowerBound     bool     `json:"lower_bound"`
	// Grade is "1", "2", "3", "over", or null when not judged (no quota,
	// no figure, or a lower bound within the quota).
	Grade         *string         `json:"grade"`
	Limit         *float64        `json:"limit"` // the least stringent grade's limit
	Quotas        []balance.Quota `json:"quotas"`
	QuotaVerified *bool           `json:"quota_verified"`
	Basis         string          `json:"basis"`
	Note          string          `json:"note,omitempty"`
	Case          *CaseRef        `json:"case"`
}

// Board is the quota board of a period.
type Board struct {
	From time.Time  `json:"from"`
	To   time.Time  `json:"to"`
	Rows []BoardRow `json:"rows"`
	// NoOutput lists the enterprises without output records in the period.
	NoOutput []string `json:"no_output"`
	// Over counts the rows over quota; Cases the live cases by state.
	Over  int                     `json:"over"`
	Cases map[quotacase.State]int `json:"cases"`
}

// QuotaBoard grades every product of the given enterprises over [from, to)
// with EnterpriseBalance and joins each with its live retrofit case.
func QuotaBoard(ctx context.Context, st Store, ents []meter.Enterprise, from, to time.Time) (Board, error) {
	b := Board{From: from.In(production.Zone), To: to.In(production.Zone), Rows: []BoardRow{}, NoOutput: []string{}, Cases: map[quotacase.State]int{}}
	if len(ents) == 0 {
		return b, nil
	}
	ids := make([]string, len(ents))
	for i, e := range ents {
		ids[i] = e.ID
	}
	cases, err := st.QuotaCases(ctx, quotacase.Filter{Enterprises: ids, NotClosed: true, Limit: 100000})
	if err != nil {
		return Board{}, err
	}
	live := map[[2]string]quotacase.Case{}
	for _, c := range cases {
		live[[2]string{c.Enterprise, c.Product}] = c
		b.Cases[c.State]++
	}
	// Only enterprises that reported output in the period have a product
	// to grade: one query finds them, and the others need no balance.
	outs, err := st.ProductionRecords(ctx, production.Filter{Enterprises: ids, Kind: production.Output, From: from, To: to})
	if err != nil {
		return Board{}, err
	}
	reported := map[string]bool{}
	for _, r := range outs {
		reported[r.Enterprise] = true
	}
	for _, e := range ents {
		if !reported[e.ID] {
			b.NoOutput = append(b.NoOutput, e.ID)
			continue
		}
		res, err := EnterpriseBalance(ctx, st, e.ID, from, to)
		if err != nil {
			return Board{}, fmt.Errorf("balance of %s: %w", e.ID, err)
		}
		for _, g := range res.Grades() {
			out := res.Outputs[g.Product]
			row := BoardRow{Enterprise: e.ID, EnterpriseName: e.Name, EnterpriseEN: e.NameEN, Park: e.Park, Region: e.Region, Industry: e.Industry,
				Product: g.Product, Unit: g.Unit, Output: out.Quantity, OutputUnit: out.Unit, LowerBound: g.LowerBound,
				Quotas: g.Quota, Basis: "metered/declared", Note: g.Note}
			if row.Quotas == nil {
				row.Quotas = []balance.Quota{}
			}
			if g.OK {
				v := g.Value
				row.Value = &v
			}
			if g.Grade != "" {
				gr := g.Grade
				row.Grade = &gr
				if gr == "over" {
					b.Over++
				}
			}
			if len(g.Quota) > 0 {
				l := g.Limit
				row.Limit = &l
				v := true
				for _, q := range g.Quota {
					v = v && q.Verified
				}
				row.QuotaVerified = &v
			}
			if c, ok := live[[2]string{e.ID, g.Product}]; ok {
				row.Case = &CaseRef{ID: c.ID, State: c.State, Deadline: c.Deadline}
			}
			b.Rows = append(b.Rows, row)
		}
	}
	return b, nil
}

// Policy is how the review opens and judges cases.
type Policy struct {
	// Deadline is the time an enterprise has from the opening
	// (default quotacase.DefaultDeadline).
	Deadline time.Duration
	// EvidenceMonths is how many consecutive months under the limit close
	// a case (default quotacase.DefaultEvidenceMonths).
	EvidenceMonths int
	// Actor names the review in case histories (default "system:quota-review").
	Actor string
}

func (p Policy) withDefaults() Policy {
	if p.Deadline <= 0 {
		p.Deadline = quotacase.DefaultDeadline
	}
	if p.EvidenceMonths <= 0 {
		p.EvidenceMonths = quotacase.DefaultEvidenceMonths
	}
	if p.Actor == "" {
		p.Actor = "system:quota-review"
	}
	return p
}

// Cases runs the retrofit-case life-cycle against the store.
type Cases struct {
	Store  Store
	Policy Policy
	Now    func() time.Time
}

// ReviewResult says what a review did.
type ReviewResult struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Opened  []int64   `json:"opened"`
	Overdue []int64   `json:"overdue"`
	Closed  []int64   `json:"closed"`
	Board   Board     `json:"board"`
}

// Review grades every enterprise over [from, to), opens a case for each
// product over quota that has no live case (so a review run twice opens
// nothing new), marks overdue the live cases past their deadline, and
// closes those whose evidence months show the product under the limit.
func (c *Cases) Review(ctx context.Context, from, to time.Time) (ReviewResult, error) {
	pol := c.Policy.withDefaults()
	now := c.now()
	ents, err := c.Store.Enterprises(ctx, store.Filter{})
	if err != nil {
		return ReviewResult{}, err
	}
	board, err := QuotaBoard(ctx, c.Store, ents, from, to)
	if err != nil {
		return ReviewResult{}, err
	}
	res := ReviewResult{From: board.From, To: board.To, Opened: []int64{}, Overdue: []int64{}, Closed: []int64{}}
	byID := map[string]meter.Enterprise{}
	for _, e := range ents {
		byID[e.ID] = e
	}
	for i, row := range board.Rows {
		if row.Grade == nil || *row.Grade != "over" || row.Case != nil {
			continue
		}
		e := byID[row.Enterprise]
		std := ""
		if n := len(row.Quotas); n > 0 {
			q := row.Quotas[n-1]
			std = q.Standard + "-" + q.Edition
		}
		cs := quotacase.Case{Enterprise: e.ID, EnterpriseName: e.Name, Park: e.Park, Region: e.Region, Product: row.Product, Unit: row.Unit,
			Value: *row.Value, Limit: *row.Limit, Grade: "over", Standard: std, Verified: *row.QuotaVerified,
			PeriodFrom: from, PeriodTo: to, State: quotacase.Open, OpenedAt: now, Deadline: now.Add(pol.Deadline),
			Owner: e.ID, EvidenceMonths: pol.EvidenceMonths}
		note := fmt.Sprintf("intake per unit %.4g %s over %s – %s exceeds the quota limit %g (%s)", *row.Value, row.Unit,
			from.In(production.Zone).Format(time.DateOnly), to.Add(-time.Nanosecond).In(production.Zone).Format(time.DateOnly), *row.Limit, std)
		if !cs.Verified {
			note += "; quota value not verified against the standard's text"
		}
		opened, err := c.Store.OpenQuotaCase(ctx, cs, pol.Actor, note)
		if errors.Is(err, store.ErrExists) {
			continue // opened meanwhile
		}
		if err != nil {
			return res, err
		}
		res.Opened = append(res.Opened, opened.ID)
		board.Rows[i].Case = &CaseRef{ID: opened.ID, State: opened.State, Deadline: opened.Deadline}
		board.Cases[quotacase.Open]++
	}
	live, err := c.Store.QuotaCases(ctx, quotacase.Filter{NotClosed: true, Limit: 100000})
	if err != nil {
		return res, err
	}
	for _, cs := range live {
		if evidence, ok, err := c.Evidence(ctx, cs, now); err != nil {
			return res, err
		} else if ok {
			if _, err := c.Store.TransitionQuotaCase(ctx, cs.ID, quotacase.Transition{To: quotacase.Closed, Actor: pol.Actor, At: now, Evidence: evidence}); err == nil {
				res.Closed = append(res.Closed, cs.ID)
				continue
			} else if !errors.Is(err, store.ErrConflict) {
				return res, err
			}
		}
		if cs.State != quotacase.Overdue && now.After(cs.Deadline) {
			if _, err := c.Store.TransitionQuotaCase(ctx, cs.ID, quotacase.Transition{To: quotacase.Overdue, Actor: pol.Actor, At: now,
				Note: "deadline " + cs.Deadline.In(production.Zone).Format(time.DateOnly) + " passed without metered evidence"}); err == nil {
				res.Overdue = append(res.Overdue, cs.ID)
			} else if !errors.Is(err, store.ErrConflict) {
				return res, err
			}
		}
	}
	res.Board = board
	return res, nil
}

// Evidence computes a case's evidence months at now (quotacase.EvidenceWindow)
// from the metered balance of each month, and whether they would close it.
func (c *Cases) Evidence(ctx context.Context, cs quotacase.Case, now time.Time) ([]quotacase.Month, bool, error) {
	window := quotacase.EvidenceWindow(cs, now, production.Zone)
	if window == nil {
		return nil, false, nil
	}
	months := make([]quotacase.Month, len(window))
	for i, start := range window {
		m := quotacase.Month{Start: start, Basis: string(production.Metered)}
		res, err := EnterpriseBalance(ctx, c.Store, cs.Enterprise, start, start.AddDate(0, 1, 0))
		if err != nil {
			return nil, false, err
		}
		m.Note = "no output reported for " + cs.Product
		for _, g := range res.Grades() {
			if g.Product != cs.Product {
				continue
			}
			switch {
			case !g.OK:
				m.Note = g.Note
			case g.LowerBound:
				m.Note = "intake is a lower bound: " + g.Note
			default:
				m.Value, m.OK, m.Note = g.Value, true, ""
			}
		}
		months[i] = m
	}
	return months, quotacase.CheckEvidence(cs, months) == nil, nil
}

// Transition applies a requested transition by actor. A closure is checked
// against the case's evidence months computed now; a refused transition is
// store.ErrConflict wrapping the *quotacase.Refusal.
func (c *Cases) Transition(ctx context.Context, id int64, to quotacase.State, actor, note string) (quotacase.Case, error) {
	t := quotacase.Transition{To: to, Actor: actor, At: c.now(), Note: note}
	if to == quotacase.Closed {
		cs, err := c.Store.QuotaCase(ctx, id)
		if err != nil {
			return quotacase.Case{}, err
		}
		ev, _, err := c.Evidence(ctx, cs, t.At)
		if err != nil {
			return quotacase.Case{}, err
		}
		if ev == nil {
			return quotacase.Case{}, fmt.Errorf("quota case %d: %w: %w", id, store.ErrConflict, &quotacase.Refusal{Msg: fmt.Sprintf(
				"closing needs %d complete calendar months of metered data after the month the case was opened in", cs.EvidenceMonths)})
		}
		t.Evidence = ev
	}
	return c.Store.TransitionQuotaCase(ctx, id, t)
}

func (c *Cases) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

// LastMonth returns the last complete calendar month before now (UTC+8).
func LastMonth(now time.Time) (time.Time, time.Time) {
	n := now.In(production.Zone)
	this := time.Date(n.Year(), n.Month(), 1, 0, 0, 0, 0, production.Zone)
	return this.AddDate(0, -1, 0), this
}

// Run reviews the last complete calendar month once a day (and once at the
// start), until ctx ends; errors go to logf.
func (c *Cases) Run(ctx context.Context, every time.Duration, logf func(format string, a ...any)) {
	if every <= 0 {
		every = 24 * time.Hour
	}
	for {
		from, to := LastMonth(c.now())
		if res, err := c.Review(ctx, from, to); err != nil {
			if ctx.Err() != nil {
				return
			}
			logf("quota review %s: %v", from.Format("2006-01"), err)
		} else if len(res.Opened)+len(res.Overdue)+len(res.Closed) > 0 {
			logf("quota review %s: opened %v, overdue %v, closed %v", from.Format("2006-01"), res.Opened, res.Overdue, res.Closed)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}
