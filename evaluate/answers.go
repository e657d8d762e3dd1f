package evaluate

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// MaxAnswerNote bounds an answer's note in bytes.
const MaxAnswerNote = 2000

// ErrAnswer is the kind of every refusal of an answer (errors.Is).
var ErrAnswer = errors.New("invalid answer")

// Answer is an answer to one declared basic requirement of an enterprise:
// met or not, with a note (how it is met, the document that shows it), who
// gave it and when. Answers are kept, not overwritten: the latest answer to
// a requirement is the one an evaluation uses (Declared).
type Answer struct {
	ID          int64  `json:"id"`
	Enterprise  string `json:"enterprise"`
	Requirement string `json:"requirement"` // a Requirement ID whose Check is declared
	Met         bool   `json:"met"`
	Note        string `json:"note,omitempty"`
	// AnsweredBy is the principal (API token) that gave the answer,
	// AnsweredAt when; both set by the server.
	AnsweredBy string    `json:"answered_by"`
	AnsweredAt time.Time `json:"answered_at"`
}

// Validate checks an answer: a declared requirement, a note of bounded
// UTF-8 text, who and when. Each refusal names the field.
func (a Answer) Validate() error {
	if a.Enterprise == "" {
		return fmt.Errorf("%w: field enterprise is empty", ErrAnswer)
	}
	q, ok := requirementByID(a.Requirement)
	switch {
	case !ok:
		return fmt.Errorf("%w: field requirement: %q is not a basic requirement of GB/T 7119 (基本要求)", ErrAnswer, a.Requirement)
	case q.Check != CheckDeclared:
		return fmt.Errorf("%w: field requirement: %q is judged from the metered %s, not declared", ErrAnswer, a.Requirement, q.Check)
	}
	if !utf8.ValidString(a.Note) || len(a.Note) > MaxAnswerNote {
		return fmt.Errorf("%w: field note: not UTF-8 text of at most %d bytes", ErrAnswer, MaxAnswerNote)
	}
	if a.AnsweredBy == "" {
		return fmt.Errorf("%w: field answered_by is empty", ErrAnswer)
	}
	if a.AnsweredAt.IsZero() {
		return fmt.Errorf("%w: field answered_at is empty", ErrAnswer)
	}
	return nil
}

func requirementByID(id string) (Requirement, bool) {
	for _, q := range requirements {
		if q.ID == id {
			return q, true
		}
	}
	return Requirement{}, false
}

// Latest returns the latest answer to each requirement (by time, then ID),
// by requirement ID.
func Latest(answers []Answer) map[string]Answer {
	out := map[string]Answer{}
	for _, a := range answers {
		o, ok := out[a.Requirement]
		if !ok || a.AnsweredAt.After(o.AnsweredAt) || a.AnsweredAt.Equal(o.AnsweredAt) && a.ID > o.ID {
			out[a.Requirement] = a
		}
	}
	return out
}

// Declared turns the latest answers into an Input's Declared map.
func Declared(answers []Answer) map[string]bool {
	out := map[string]bool{}
	for id, a := range Latest(answers) {
		out[id] = a.Met
	}
	return out
}
