package evaluate

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/balance"
)

func TestAnswerValidate(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	good := Answer{Enterprise: "E1", Requirement: "within_plan", Met: true, AnsweredBy: "tok-1", AnsweredAt: at}
	if err := good.Validate(); err != nil {
		t.Fatalf("good answer: %v", err)
	}
	cases := []struct {
		name, field string
		edit        func(*Answer)
	}{
		{"no enterprise", "enterprise", func(a *Answer) { a.Enterprise = "" }},
		{"unknown requirement", "requirement", func(a *Answer) { a.Requirement = "no_such" }},
		{"metered requirement", "requirement", func(a *Answer) { a.Requirement = "metering" }},
		{"long note", "note", func(a *Answer) { a.Note = strings.Repeat("水", MaxAnswerNote) }},
		{"bad UTF-8", "note", func(a *Answer) { a.Note = "\xff" }},
		{"no actor", "answered_by", func(a *Answer) { a.AnsweredBy = "" }},
		{"no time", "answered_at", func(a *Answer) { a.AnsweredAt = time.Time{} }},
	}
	for _, c := range cases {
		a := good
		c.edit(&a)
		err := a.Validate()
		if !errors.Is(err, ErrAnswer) || !strings.Contains(err.Error(), "field "+c.field) {
			t.Errorf("%s: %v, want a refusal naming field %s", c.name, err, c.field)
		}
	}
}

// TestEvaluateWithAnswers: the latest stored answer decides a declared
// requirement and is shown with who gave it; every declared requirement
// answered met makes the steel works' evaluation complete.
func TestEvaluateWithAnswers(t *testing.T) {
	points, vol := steelWorks()
	vol["C-RECIRC"] = 40000
	rep := balance.Evaluate(points, vol, balance.Options{Settings: balance.DefaultSettings()})
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	var answers []Answer
	for i, q := range Requirements() {
		if q.Check == CheckDeclared {
			answers = append(answers, Answer{ID: int64(i + 1), Enterprise: "E1", Requirement: q.ID, Met: true, AnsweredBy: "tok-e", AnsweredAt: at})
		}
	}
	if r := Evaluate(Input{Industry: "3120", Balance: rep}); r.Outcome != "incomplete" {
		t.Fatalf("without answers: %s", r.Outcome)
	}
	r := Evaluate(Input{Industry: "3120", Balance: rep, Answers: answers})
	if r.Outcome != "passed" {
		t.Fatalf("every requirement answered met: %s", r.Outcome)
	}
	if it := item(t, r.Requirements, "within_plan"); it.Answer == nil || it.Answer.AnsweredBy != "tok-e" || !it.Answer.AnsweredAt.Equal(at) {
		t.Errorf("within_plan carries no answer: %+v", it)
	}
	// A later answer "not met" wins over the earlier "met"; an earlier one
	// does not.
	later := Answer{ID: 99, Enterprise: "E1", Requirement: "within_plan", Met: false, AnsweredBy: "tok-r", AnsweredAt: at.Add(time.Hour)}
	if r := Evaluate(Input{Industry: "3120", Balance: rep, Answers: append(answers, later)}); r.Outcome != "failed" || item(t, r.Requirements, "within_plan").Answer.AnsweredBy != "tok-r" {
		t.Errorf("a later answer not met: %s", r.Outcome)
	}
	earlier := later
	earlier.AnsweredAt = at.Add(-time.Hour)
	if r := Evaluate(Input{Industry: "3120", Balance: rep, Answers: append(answers, earlier)}); r.Outcome != "passed" {
		t.Errorf("an earlier answer must not win: %s", r.Outcome)
	}
}
