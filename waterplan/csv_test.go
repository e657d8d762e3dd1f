package waterplan

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestParsePlansCSV(t *testing.T) {
	f, err := os.Open("testdata/plans.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ps, err := ParsePlansCSV(f)
	if err != nil || len(ps) != 2 || ps[0].Annual() != 12000 || ps[1].Monthly[1] != 28000 {
		t.Fatalf("%+v %v", ps, err)
	}
	// Without months: split by days.
	ps, err = ParsePlansCSV(strings.NewReader("\ufeffEnterprise,Year,Annual_m3\nE3,2024,366000\n"))
	if err != nil || len(ps) != 1 || ps[0].Monthly[1] != 29000 {
		t.Fatalf("split: %+v %v", ps, err)
	}
	months := ",1,1,1,1,1,1,1,1,1,1,1,1"
	bad := "enterprise,year,annual_m3,m01,m02,m03,m04,m05,m06,m07,m08,m09,m10,m11,m12\n" +
		"E1,2026,12" + months + "\n" + // line 2 good
		"E2,2026,13" + months + "\n" + // 3: sums to 12
		",2026,12" + months + "\n" + // 4: no enterprise
		"E4,20x6,12" + months + "\n" + // 5: year
		"E5,2026,12,1,1,1,-1,1,1,1,1,1,1,1,3\n" + // 6: negative month
		"E6,2026,12,1,1,1,x,1,1,1,1,1,1,1,1\n" + // 7: not a number
		"E1,2026,12" + months + "\n" // 8: twice
	_, err = ParsePlansCSV(strings.NewReader(bad))
	if err == nil {
		t.Fatal("bad rows accepted")
	}
	for _, want := range []string{
		"line 3, field annual_m3: plan of E2 2026: the months sum to 12.00 m³, the annual figure is 13.00 m³",
		"line 4, field enterprise", "line 5, field year", "line 6: plan of E5 2026: month 4: -1 m³", "line 7, field m04: \"x\" is not a number",
		"line 8: plan of E1 2026 already on line 2",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	var re *RowError
	if !errors.As(err, &re) || re.Line != 3 {
		t.Errorf("first row error %+v", re)
	}
	for _, head := range []string{"enterprise,year\n", "enterprise,year,annual_m3,m01\n", "enterprise,enterprise,year,annual_m3\n", ""} {
		if _, err := ParsePlansCSV(strings.NewReader(head)); err == nil || !strings.Contains(err.Error(), "header") {
			t.Errorf("header %q: %v", head, err)
		}
	}
}

func FuzzParsePlansCSV(f *testing.F) {
	seed, err := os.ReadFile("testdata/plans.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte("enterprise,year,annual_m3\nE,2026,1e9\n"))
	f.Add([]byte("enterprise,year,annual_m3\nE,2026,NaN\n\"unterminated"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := ParsePlansCSV(strings.NewReader(string(b)))
		if err != nil {
			if ps != nil {
				t.Fatal("plans with an error")
			}
			return
		}
		for _, p := range ps {
			if err := p.Validate(); err != nil {
				t.Fatalf("invalid plan returned: %v", err)
			}
		}
	})
}
