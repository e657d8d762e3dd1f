package refusal

import (
	"errors"
	"fmt"
	"testing"
)

func TestNew(t *testing.T) {
	errKind, errOther := errors.New("kind"), errors.New("other")
	err := fmt.Errorf("wrapped: %w", New(errKind, "meter %s: %d", "M-1", 2))
	if !errors.Is(err, errKind) || errors.Is(err, errOther) {
		t.Fatalf("kind not matched: %v", err)
	}
	if got := errors.Unwrap(err).Error(); got != "meter M-1: 2" {
		t.Fatalf("text %q", got)
	}
}
