package reading

import (
	"strings"
	"testing"
)

func TestValidID(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"HN-430300-0001", true},
		{"a.b_c", true},
		{"", false},
		{"has space", false},
		{"plus+sign", false},
		{"斜杠", false},
		{strings.Repeat("x", 64), true},
		{strings.Repeat("x", 65), false},
	} {
		if err := ValidID(tc.id); (err == nil) != tc.ok {
			t.Errorf("ValidID(%q) = %v, want ok=%v", tc.id, err, tc.ok)
		}
	}
}
