// Package refusal makes the errors a use case returns when it refuses a
// request: errors.Is matches them to a kind (a sentinel such as
// registry.ErrInvalid) that an entry point maps to its own answer (an HTTP
// status, an exit code), while their text is only the reason, fit to show
// the caller as it is.
package refusal

import "fmt"

type refusal struct {
	kind error
	msg  string
}

func (e *refusal) Error() string { return e.msg }
func (e *refusal) Unwrap() error { return e.kind }

// New returns an error of the given kind whose text is the formatted
// reason.
func New(kind error, format string, a ...any) error {
	return &refusal{kind: kind, msg: fmt.Sprintf(format, a...)}
}
