// Package quotacase defines retrofit cases (限期实施节水改造): the case a
// regulator opens when an enterprise's intake per unit of a product exceeds
// every grade of the product's water-intake quota (GB/T 18916, DB43/T 388;
// balance.Grade "over"), and its life-cycle
//
//	open → plan_submitted → in_progress → closed
//	  └──────────┴──────────────┴──→ overdue → closed
//
// Every transition is an event with its actor, time and note. A case is
// closed only by metered evidence: the product's metered intake per unit
// under the limit the case was opened against in each of the case's
// evidence months (EvidenceMonths consecutive calendar months, all after
// the month it was opened in). The rules are pure (Apply); package store
// keeps cases (store.QuotaCases) and applies transitions with them;
// internal/efficiency opens, marks overdue and closes cases.
package quotacase

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// State is where a case is in its life.
type State string

// Case states.
const (
	Open          State = "open"
	PlanSubmitted State = "plan_submitted"
	InProgress    State = "in_progress"
	Overdue       State = "overdue"
	Closed        State = "closed"
)

// States lists every state in life-cycle order.
var States = []State{Open, PlanSubmitted, InProgress, Overdue, Closed}

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	for _, x := range States {
		if s == x {
			return true
		}
	}
	return false
}

// Defaults of a case's policy.
const (
	// DefaultDeadline is how long an enterprise has to bring a product
	// under quota: 180 days, the usual 限期 of a rectification notice in
	// provincial practice (configurable; not a figure of a standard).
	DefaultDeadline = 180 * 24 * time.Hour
	// DefaultEvidenceMonths is how many consecutive calendar months of
	// metered data under the limit close a case: three, so that one good
	// month (or a month of low load) does not close it.
	DefaultEvidenceMonths = 3
	// MaxEvidenceMonths bounds the evidence period.
	MaxEvidenceMonths = 24
	// MaxNote bounds a note in bytes.
	MaxNote = 2000
)

// Case is a retrofit case of one enterprise and product.
type Case struct {
	ID             int64  `json:"id"`
	Enterprise     string `json:"enterprise"`
	EnterpriseName string `json:"enterprise_name"`
	// Park and Region are the enterprise's, copied for tenant scope.
	Park    string `json:"park,omitempty"`
	Region  string `json:"region,omitempty"`
	Product string `json:"product"`
	// Unit is the unit of intake per unit of product, e.g. "m3/t".
	Unit string `json:"unit"`
	// Value is the intake per unit that opened the case, over [PeriodFrom,
	// PeriodTo); Limit the quota limit it exceeded (the least stringent
	// grade's), Grade "over".
	Value      float64   `json:"value"`
	Limit      float64   `json:"limit"`
	Grade      string    `json:"grade"`
	Standard   string    `json:"standard,omitempty"`
	Verified   bool      `json:"quota_verified"`
	PeriodFrom time.Time `json:"period_from"`
	PeriodTo   time.Time `json:"period_to"`
	State      State     `json:"state"`
	OpenedAt   time.Time `json:"opened_at"`
	Deadline   time.Time `json:"deadline"`
	// Owner is who must act: the enterprise, unless the regulator names
	// someone when opening.
	Owner          string    `json:"owner"`
	EvidenceMonths int       `json:"evidence_months"`
	ClosedAt       time.Time `json:"closed_at,omitzero"`
	History        []Event   `json:"history"`
}

// Event is one transition in a case's history; the first has From "".
type Event struct {
	From  State     `json:"from"`
	To    State     `json:"to"`
	Actor string    `json:"actor"`
	At    time.Time `json:"at"`
	Note  string    `json:"note,omitempty"`
}

// Month is one calendar month's metered intake per unit of the product.
type Month struct {
	// Start is the first day of the month (midnight UTC+8).
	Start time.Time `json:"start"`
	// Value is the metered intake per unit; OK false when there is none
	// (no output reported, a meter without data…), with Note saying why.
	Value float64 `json:"value"`
	OK    bool    `json:"ok"`
	Basis string  `json:"basis"`
	Note  string  `json:"note,omitempty"`
}

// Filter selects cases; empty fields do not filter.
type Filter struct {
	State       State
	Enterprise  string
	Enterprises []string // any of them (tenant scope)
	Product     string
	// NotClosed selects the cases that are not closed.
	NotClosed bool
	Limit     int // 0: 1000
}

// Validate checks a case to be opened.
func (c *Case) Validate() error {
	switch {
	case c.Enterprise == "":
		return errors.New("quota case: no enterprise")
	case c.Product == "":
		return errors.New("quota case: no product")
	case !strings.HasPrefix(c.Unit, "m3/"):
		return fmt.Errorf("quota case: unit %q is not m3/<unit of output>", c.Unit)
	case !finite(c.Value) || !finite(c.Limit) || !(c.Limit > 0) || !(c.Value > c.Limit):
		return fmt.Errorf("quota case: value %v must exceed the limit %v (both finite, limit > 0)", c.Value, c.Limit)
	case c.OpenedAt.IsZero() || !c.Deadline.After(c.OpenedAt):
		return errors.New("quota case: the deadline must come after the opening")
	case !c.PeriodTo.After(c.PeriodFrom):
		return errors.New("quota case: empty evaluation period")
	case c.EvidenceMonths < 1 || c.EvidenceMonths > MaxEvidenceMonths:
		return fmt.Errorf("quota case: evidence months %d not in [1, %d]", c.EvidenceMonths, MaxEvidenceMonths)
	case c.Owner == "":
		return errors.New("quota case: no owner")
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Transition is a requested change of state.
type Transition struct {
	To    State
	Actor string
	At    time.Time
	Note  string
	// Evidence is the metered months a closure rests on; required to close.
	Evidence []Month
}

// Refusal is why a transition is not allowed.
type Refusal struct{ Msg string }

func (e *Refusal) Error() string { return e.Msg }

func refuse(format string, a ...any) error { return &Refusal{Msg: fmt.Sprintf(format, a...)} }

// next lists the states a state may go to. Overdue is reached from any
// state but closed once the deadline has passed; from overdue only a
// closure by evidence leads on (the retrofit goes on, but late, and the
// board shows it so).
var next = map[State][]State{
	Open:          {PlanSubmitted, InProgress, Overdue, Closed},
	PlanSubmitted: {InProgress, Overdue, Closed},
	InProgress:    {Overdue, Closed},
	Overdue:       {Closed},
}

// Allowed reports whether a case in state from may go to state to.
func Allowed(from, to State) bool {
	for _, s := range next[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Apply returns the case after the transition and the event recording it,
// or a *Refusal saying why the transition is not allowed: an unknown or
// unreachable state, going overdue before the deadline, or a closure whose
// evidence does not show the product under the limit for the case's
// evidence months.
func Apply(c Case, t Transition) (Case, Event, error) {
	if !t.To.Valid() {
		return c, Event{}, refuse("unknown state %q (states: open, plan_submitted, in_progress, overdue, closed)", t.To)
	}
	if !Allowed(c.State, t.To) {
		return c, Event{}, refuse("a case in state %s cannot go to %s", c.State, t.To)
	}
	if t.Actor == "" || t.At.IsZero() {
		return c, Event{}, refuse("a transition needs an actor and a time")
	}
	if len(t.Note) > MaxNote || !utf8.ValidString(t.Note) {
		return c, Event{}, refuse("the note must be valid UTF-8 of at most %d bytes", MaxNote)
	}
	switch t.To {
	case Overdue:
		if !t.At.After(c.Deadline) {
			return c, Event{}, refuse("the deadline %s has not passed", c.Deadline.Format(time.RFC3339))
		}
	case Closed:
		if err := CheckEvidence(c, t.Evidence); err != nil {
			return c, Event{}, err
		}
	}
	ev := Event{From: c.State, To: t.To, Actor: t.Actor, At: t.At, Note: t.Note}
	if t.To == Closed {
		c.ClosedAt = t.At
		if ev.Note == "" {
			ev.Note = EvidenceNote(t.Evidence, c.Limit, c.Unit)
		} else {
			ev.Note += " — " + EvidenceNote(t.Evidence, c.Limit, c.Unit)
		}
	}
	c.State = t.To
	c.History = append(c.History, ev)
	return c, ev, nil
}

// EvidenceWindow returns the first days of the case's evidence months: the
// EvidenceMonths complete calendar months (UTC+8) ending before now's
// month, or nil when they would not all lie after the month the case was
// opened in (the evidence must show the retrofit, not what came before it).
func EvidenceWindow(c Case, now time.Time, zone *time.Location) []time.Time {
	n := now.In(zone)
	thisMonth := time.Date(n.Year(), n.Month(), 1, 0, 0, 0, 0, zone)
	o := c.OpenedAt.In(zone)
	firstAllowed := time.Date(o.Year(), o.Month(), 1, 0, 0, 0, 0, zone).AddDate(0, 1, 0)
	first := thisMonth.AddDate(0, -c.EvidenceMonths, 0)
	if first.Before(firstAllowed) {
		return nil
	}
	months := make([]time.Time, c.EvidenceMonths)
	for i := range months {
		months[i] = first.AddDate(0, i, 0)
	}
	return months
}

// CheckEvidence refuses a closure unless evidence holds EvidenceMonths
// consecutive calendar months, all after the month the case was opened in,
// each with a metered intake per unit at or under the case's limit.
func CheckEvidence(c Case, evidence []Month) error {
	if len(evidence) < c.EvidenceMonths {
		return refuse("closing needs %d consecutive months of metered data under %g %s; %d given", c.EvidenceMonths, c.Limit, c.Unit, len(evidence))
	}
	ev := evidence[len(evidence)-c.EvidenceMonths:]
	o := c.OpenedAt.In(ev[0].Start.Location())
	opened := time.Date(o.Year(), o.Month(), 1, 0, 0, 0, 0, o.Location())
	for i, m := range ev {
		month := m.Start.Format("2006-01")
		if !m.Start.After(opened) {
			return refuse("month %s is not after the month the case was opened in (%s)", month, opened.Format("2006-01"))
		}
		if i > 0 && !m.Start.Equal(ev[i-1].Start.AddDate(0, 1, 0)) {
			return refuse("months %s and %s are not consecutive", ev[i-1].Start.Format("2006-01"), month)
		}
		if !m.OK {
			return refuse("month %s has no metered intake per unit: %s", month, m.Note)
		}
		if m.Basis != "metered" {
			return refuse("month %s: intake per unit is %s, not metered", month, m.Basis)
		}
		if m.Value > c.Limit {
			return refuse("month %s: %.4g %s is over the limit %g", month, m.Value, c.Unit, c.Limit)
		}
	}
	return nil
}

// EvidenceNote describes the months a closure rests on.
func EvidenceNote(evidence []Month, limit float64, unit string) string {
	parts := make([]string, len(evidence))
	for i, m := range evidence {
		parts[i] = fmt.Sprintf("%s %.4g", m.Start.Format("2006-01"), m.Value)
	}
	return fmt.Sprintf("metered intake per unit %s ≤ %g %s", strings.Join(parts, ", "), limit, unit)
}
