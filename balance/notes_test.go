package balance

import (
	"strings"
	"testing"
	"unicode"

	"github.com/shuixiao/shuixiao/meter"
)

// TestNotesChineseFirst: every note of a balance with gaps is written
// Chinese first, then English after " / ".
func TestNotesChineseFirst(t *testing.T) {
	pts := []meter.Point{
		{ID: "IN", Enterprise: "E", Level: meter.Level1, Stage: meter.StageIntake, Source: meter.SourceGround},
		{ID: "U1", Enterprise: "E", Level: meter.Level2, Stage: meter.StageUse, Parent: "IN", Purpose: meter.PurposeIndirectCooling},
	}
	r := Evaluate(pts, Volumes{"U1": 10}, Options{Settings: DefaultSettings(),
		Production: []Production{{Product: "粗钢", Quantity: 1, Unit: "t"}, {Product: "啤酒", Quantity: 1, Unit: "kL"}}})
	n := 0
	check := func(name string, f Figure) {
		if f.Note == "" {
			return
		}
		n++
		zh, en, ok := strings.Cut(f.Note, " / ")
		if !ok || !strings.ContainsFunc(zh, func(r rune) bool { return unicode.Is(unicode.Han, r) }) || en == "" {
			t.Errorf("%s: note %q is not Chinese / English", name, f.Note)
		}
	}
	for name, f := range r.Figures() {
		check(name, f)
	}
	for name, p := range r.Products {
		check(name, p.IntakePerUnit)
	}
	if n < 5 {
		t.Errorf("only %d notes checked", n)
	}
	if r.Intake.Note != "取水量：无一级取水计量点 / intake: no level-1 intake point" {
		t.Errorf("intake note %q", r.Intake.Note)
	}
}
