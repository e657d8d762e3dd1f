package sensor

import (
	"math"
	"strings"
	"testing"
)

func TestProblem(t *testing.T) {
	for _, tc := range []struct {
		r    Reading
		want string
	}{
		{Reading{Value: 5, AgeS: 10, Valid: true}, ""},
		{Reading{Value: 5, AgeS: 10}, "fault"},
		{Reading{Value: math.NaN(), Valid: true}, "not a number"},
		{Reading{Value: math.Inf(1), Valid: true}, "not a number"},
		{Reading{Value: 5, AgeS: 61, Valid: true}, "stale"},
		{Reading{Value: 5, AgeS: math.NaN(), Valid: true}, "stale"},
		{Reading{Value: 11, Valid: true}, "implausible"},
		{Reading{Value: -1, Valid: true}, "implausible"},
	} {
		got := tc.r.Problem(0, 10, 60)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%+v: %q, want %q", tc.r, got, tc.want)
		}
	}
	if (Reading{Value: 5, AgeS: 1e9, Valid: true}).Problem(0, 10, 0) != "" {
		t.Error("staleAfterS 0 must mean never stale")
	}
}
