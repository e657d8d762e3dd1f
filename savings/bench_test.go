package savings

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// threeYearsDaily is a baseline of three years of daily intake against
// production and cooling degree days.
func threeYearsDaily(b *testing.B) (Table, Table) {
	var base, rep strings.Builder
	base.WriteString("period,intake_m3,production,cdd\n")
	rep.WriteString("period,intake_m3,production,cdd\n")
	day := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 3*365+60; i++ {
		d := day.AddDate(0, 0, i)
		prod := 800 + 200*math.Sin(float64(i)/17)
		cdd := math.Max(0, 12*math.Sin(2*math.Pi*float64(d.YearDay())/365))
		y := 300 + 2.1*prod + 9*cdd + 25*math.Sin(float64(i)*1.3)
		w := &base
		if i >= 3*365 {
			w, y = &rep, 0.92*y
		}
		fmt.Fprintf(w, "%s,%.3f,%.3f,%.3f\n", d.Format("2006-01-02"), y, prod, cdd)
	}
	bt, err := ReadCSV(strings.NewReader(base.String()), "base")
	if err != nil {
		b.Fatal(err)
	}
	rt, err := ReadCSV(strings.NewReader(rep.String()), "rep")
	if err != nil {
		b.Fatal(err)
	}
	return bt, rt
}

// BenchmarkThreeYearsDaily is the M&V fit over three years of daily data
// (issue target: < 50 ms).
func BenchmarkThreeYearsDaily(b *testing.B) {
	base, rep := threeYearsDaily(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Compute(base, rep, nil); err != nil {
			b.Fatal(err)
		}
	}
}
