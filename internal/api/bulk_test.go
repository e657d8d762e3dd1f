package api

import (
	"strings"
	"testing"
)

func TestDecodeArray(t *testing.T) {
	for _, tc := range []struct {
		body string
		n    int
		err  string
	}{
		{`[{"id":"A","interval_s":60},{"id":"B"}]`, 2, ""},
		{` [ {"id":"A"} ] `, 1, ""},
		{`[]`, 0, "an empty array"},
		{`{"id":"A"}`, 0, "want a JSON array"},
		{`[{"id":"A"},{"id":"B","nope":1}]`, 0, "item 1: json: unknown field \"nope\""},
		{`[{"id":"A"},{"interval_s":"x"}]`, 0, "item 1:"},
		{`[{"id":"A"}] [`, 0, "data after the array"},
		{`[{"id":"A"},{"id":"B"},{"id":"C"},{"id":"D"}]`, 0, "more than 3 items"},
		{`[{"id":"A"}`, 0, "request body:"},
	} {
		got, err := decodeArray[meterRequest](strings.NewReader(tc.body), 3)
		switch {
		case tc.err == "" && (err != nil || len(got) != tc.n):
			t.Errorf("%s: %d items, %v", tc.body, len(got), err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: %v, want %q", tc.body, err, tc.err)
		}
	}
}

// FuzzDecodeArray: any body decodes or is refused with an error, never a
// panic, and a decoded array is within its bound and not empty.
func FuzzDecodeArray(f *testing.F) {
	for _, s := range []string{`[{"id":"A","point":"P","key":"k","collector":"C","interval_s":60}]`, `[]`, `[{}, {}]`, `[1]`, `[{"interval_s":1e400}]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got, err := decodeArray[meterRequest](strings.NewReader(body), 4)
		if err == nil && (len(got) == 0 || len(got) > 4) {
			t.Fatalf("%q: %d items and no error", body, len(got))
		}
	})
}
