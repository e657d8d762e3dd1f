package reading

import (
	"strings"
	"testing"
	"time"
)

func samplePoint() *PointEntry {
	return &PointEntry{Point: "PT-1", Enterprise: "E-1", Name: "总进水 \"一号\"\n", NameEN: "Main intake", Level: 1, Stage: "intake",
		Source: "municipal", Channels: []PointChannel{
			{Name: "total_m3", Kind: "total", Rollover: 99999.99, Max: 1e9, Unit: "m3", Quantity: "volume"},
			{Name: "flow_m3h", Kind: "rate", Min: -10, Max: 5000, Unit: "m3/h", Quantity: ""},
		}, Time: time.Date(2026, 3, 1, 8, 0, 0, 123, time.UTC)}
}

func TestPointEntryRoundTrip(t *testing.T) {
	e := samplePoint()
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
	got, err := ParsePointEntry([]byte(e.Text() + "\n— signature line\n"))
	if err != nil {
		t.Fatalf("parse %q: %v", e.Text(), err)
	}
	if got.Text() != e.Text() || got.Name != e.Name || got.Channels[0].Rollover != 99999.99 || got.Channels[1].Min != -10 {
		t.Fatalf("round trip:\n%s\nvs\n%s", got.Text(), e.Text())
	}
	if Kind([]byte(e.Text())) != PointHeader {
		t.Fatalf("Kind = %q", Kind([]byte(e.Text())))
	}
}

func TestPointEntryRejects(t *testing.T) {
	good := samplePoint().Text()
	for _, tc := range []struct{ name, text, want string }{
		{"reordered", strings.Replace(good, "point PT-1\nenterprise E-1\n", "enterprise E-1\npoint PT-1\n", 1), "canonical"},
		{"number form", strings.Replace(good, " 99999.99 ", " 9.999999e4 ", 1), "canonical"},
		{"level", strings.Replace(good, "level 1", "level 4", 1), "level 4"},
		{"unquoted unit", strings.Replace(good, `"m3/h"`, "m3/h", 1), "quoted"},
		{"nan", strings.Replace(good, " -10 ", " NaN ", 1), "finite"},
		{"bad id", strings.Replace(good, "point PT-1", "point PT 1", 1), "not allowed"},
		{"unknown", strings.Replace(good, "level 1\n", "level 1\ncolour red\n", 1), "unknown field"},
		{"duplicate", strings.Replace(good, "level 1\n", "level 1\nlevel 1\n", 1), "duplicate"},
		{"no channel", PointHeader + "\npoint P\nenterprise E\nlevel 2\nstage use\ntime 2026-01-01T00:00:00Z\n", "no channels"},
		{"header", "hn-water-points/v1\n", "not a"},
	} {
		_, err := ParsePointEntry([]byte(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func FuzzParsePointEntry(f *testing.F) {
	f.Add([]byte(samplePoint().Text()))
	f.Add([]byte(PointHeader + "\npoint P\nenterprise E\nlevel 2\nstage use\npurpose process\nchannel total_m3 total 0 0 1 \"m3\" \"\"\ntime 2026-01-01T00:00:00Z\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParsePointEntry(data)
		if err != nil {
			return
		}
		again, err := ParsePointEntry([]byte(e.Text()))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", e.Text(), err)
		}
		if again.Text() != e.Text() {
			t.Fatalf("unstable text %q vs %q", again.Text(), e.Text())
		}
	})
}
