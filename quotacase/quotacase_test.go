package quotacase

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var zone = time.FixedZone("CST", 8*3600)

func month(y int, m time.Month) time.Time { return time.Date(y, m, 1, 0, 0, 0, 0, zone) }

func newCase() Case {
	opened := time.Date(2026, 11, 2, 9, 0, 0, 0, zone)
	return Case{ID: 1, Enterprise: "E", Product: "机织印染布", Unit: "m3/100m", Value: 2, Limit: 1.6, Grade: "over",
		PeriodFrom: month(2026, 10), PeriodTo: month(2026, 11), State: Open, OpenedAt: opened, Deadline: opened.AddDate(0, 6, 0),
		Owner: "E", EvidenceMonths: 3}
}

func metered(start time.Time, v ...float64) []Month {
	out := make([]Month, len(v))
	for i, x := range v {
		out[i] = Month{Start: start.AddDate(0, i, 0), Value: x, OK: true, Basis: "metered"}
	}
	return out
}

func TestTransitions(t *testing.T) {
	c := newCase()
	at := c.OpenedAt.Add(time.Hour)
	steps := []struct {
		to State
		ok bool
	}{{Open, false}, {InProgress, true}, {PlanSubmitted, false}, {"paused", false}, {Overdue, false}}
	for _, s := range steps {
		next, ev, err := Apply(c, Transition{To: s.to, Actor: "a", At: at})
		var r *Refusal
		if s.ok != (err == nil) || (err != nil && !errors.As(err, &r)) {
			t.Fatalf("%s → %s: %v", c.State, s.to, err)
		}
		if err == nil {
			if ev.From != c.State || ev.To != s.to || len(next.History) != len(c.History)+1 {
				t.Fatalf("event %+v", ev)
			}
			c = next
		}
	}
	if _, _, err := Apply(c, Transition{To: Overdue, At: c.Deadline.Add(time.Second)}); err == nil {
		t.Error("transition without an actor")
	}
	c, _, err := Apply(c, Transition{To: Overdue, Actor: "system", At: c.Deadline.Add(time.Second)})
	if err != nil || c.State != Overdue {
		t.Fatalf("overdue: %v", err)
	}
	if _, _, err := Apply(c, Transition{To: InProgress, Actor: "a", At: c.Deadline.Add(time.Hour)}); err == nil {
		t.Error("overdue → in_progress allowed")
	}
	c, ev, err := Apply(c, Transition{To: Closed, Actor: "system", At: month(2027, 3), Evidence: metered(month(2026, 12), 1.5, 1.6, 1.2)})
	if err != nil || c.State != Closed || !c.ClosedAt.Equal(month(2027, 3)) || !strings.Contains(ev.Note, "2027-01 1.6") {
		t.Fatalf("closed: %+v %+v %v", c, ev, err)
	}
	for _, s := range States {
		if Allowed(Closed, s) {
			t.Errorf("closed → %s allowed", s)
		}
	}
}

func TestCheckEvidence(t *testing.T) {
	c := newCase()
	for _, tc := range []struct {
		name string
		ev   []Month
		want string
	}{
		{"ok", metered(month(2026, 12), 1.5, 1.5, 1.5), ""},
		{"longer, last three count", metered(month(2026, 12), 1.9, 1.5, 1.5, 1.5), ""},
		{"too few", metered(month(2026, 12), 1.5, 1.5), "needs 3"},
		{"over", metered(month(2026, 12), 1.5, 1.61, 1.5), "2027-01: 1.61 m3/100m is over"},
		{"opening month", metered(month(2026, 11), 1.5, 1.5, 1.5), "not after the month the case was opened"},
		{"gap", append(metered(month(2026, 12), 1.5, 1.5), metered(month(2027, 3), 1.5)...), "not consecutive"},
		{"declared", []Month{{Start: month(2026, 12), Value: 1, OK: true, Basis: "metered"}, {Start: month(2027, 1), Value: 1, OK: true, Basis: "declared"}, {Start: month(2027, 2), Value: 1, OK: true, Basis: "metered"}}, "declared, not metered"},
		{"no figure", []Month{{Start: month(2026, 12), Value: 1, OK: true, Basis: "metered"}, {Start: month(2027, 1), Basis: "metered", Note: "meter silent"}, {Start: month(2027, 2), Value: 1, OK: true, Basis: "metered"}}, "meter silent"},
	} {
		err := CheckEvidence(c, tc.ev)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestEvidenceWindow(t *testing.T) {
	c := newCase() // opened 2026-11-02
	if w := EvidenceWindow(c, time.Date(2027, 2, 28, 23, 0, 0, 0, zone), zone); w != nil {
		t.Errorf("February: %v (November is the opening month)", w)
	}
	w := EvidenceWindow(c, time.Date(2027, 3, 1, 0, 30, 0, 0, zone), zone)
	if len(w) != 3 || !w[0].Equal(month(2026, 12)) || !w[2].Equal(month(2027, 2)) {
		t.Errorf("March: %v", w)
	}
	// 2027-02-28 16:30 UTC is already March 1 in UTC+8.
	if w := EvidenceWindow(c, time.Date(2027, 2, 28, 16, 30, 0, 0, time.UTC), zone); len(w) != 3 {
		t.Errorf("zone: %v", w)
	}
}

func TestValidate(t *testing.T) {
	for name, edit := range map[string]func(c *Case){
		"under limit": func(c *Case) { c.Value = 1.5 },
		"no owner":    func(c *Case) { c.Owner = "" },
		"deadline":    func(c *Case) { c.Deadline = c.OpenedAt },
		"evidence":    func(c *Case) { c.EvidenceMonths = 0 },
		"unit":        func(c *Case) { c.Unit = "t" },
		"period":      func(c *Case) { c.PeriodTo = c.PeriodFrom },
	} {
		c := newCase()
		edit(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: valid", name)
		}
	}
	c := newCase()
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}
