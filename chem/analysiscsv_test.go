package chem

import (
	"os"
	"strings"
	"testing"
)

func TestReadAnalysesCSVReference(t *testing.T) {
	f, err := os.Open(refData(t, "chem", "waters_input.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := ReadAnalysesCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 12 {
		t.Fatalf("got %d records, want 12", len(recs))
	}
	for _, r := range recs {
		if r.Err != nil {
			t.Errorf("%s line %d: %v", r.ID, r.Line, r.Err)
		}
	}
	w09 := recs[8]
	if w09.ID != "W09" || w09.Analysis.Cl != 852.8 || w09.Analysis.Alk != 200 || w09.Analysis.TempC != 38 || w09.Line != 10 {
		t.Errorf("W09 parsed as %+v", w09)
	}
}

func TestReadAnalysesCSVRowErrors(t *testing.T) {
	in := "\ufeffpH,ID,t_c,Ca,Mg,Na,K,Cl,SO4,Alk_CaCO3,extra,EC25_uS_cm\n" +
		"7.5,ok,25,60 mg/L,15,30,4,45,60,150,whatever,600\n" +
		"7.5,missing,25,,15,30,4,45,60,150,x,\n" +
		"7.5,negative,25,60,-1,30,4,45,60,150,x,\n" +
		"15,badph,25,60,15,30,4,45,60,150,x,\n" +
		"7.5,unit,25,60 ppm,15,30,4,45,60,150,x,\n" +
		"7.5,text,25,sixty,15,30,4,45,60,150,x,\n" +
		"7.5,short,25,60\n" +
		"\n" +
		"7.5,bdl,25,60,15,30,4,45,<0.5,150,x,\n"
	recs, err := ReadAnalysesCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ok": "", "missing": "ca is missing", "negative": "mg = -1", "badph": "pH 15",
		"unit": "unit", "text": "not a number", "short": "missing", "bdl": ""}
	if len(recs) != len(want) {
		t.Fatalf("got %d records, want %d", len(recs), len(want))
	}
	for _, r := range recs {
		w, ok := want[r.ID]
		if !ok {
			t.Fatalf("unexpected id %q", r.ID)
		}
		switch {
		case w == "" && r.Err != nil:
			t.Errorf("%s: unexpected error %v", r.ID, r.Err)
		case w != "" && (r.Err == nil || !strings.Contains(strings.ToLower(r.Err.Error()), strings.ToLower(w))):
			t.Errorf("%s: error %v, want one mentioning %q", r.ID, r.Err, w)
		}
	}
	if !recs[0].HasConductivity || recs[0].Conductivity != 600 || recs[0].Analysis.Ca != 60 {
		t.Errorf("first record %+v", recs[0])
	}
	if recs[len(recs)-1].Analysis.SO4 != 0 {
		t.Errorf("below-detection value not read as 0")
	}
	if _, err := ReadAnalysesCSV(strings.NewReader("id,pH\n1,7\n")); err == nil {
		t.Error("missing required columns accepted")
	}
	if _, err := ReadAnalysesCSV(strings.NewReader("")); err == nil {
		t.Error("empty input accepted")
	}
}

// FuzzReadAnalysesCSV checks the reader never panics, and every record it accepts is valid.
func FuzzReadAnalysesCSV(f *testing.F) {
	f.Add("id,T_C,pH,Ca,Mg,Na,K,Cl,SO4,Alk_CaCO3\nW,25,7.6,60,15,31.1,4,45,60,150\n")
	f.Add("id,T_C,pH,Ca,Mg,Na,K,Cl,SO4,Alk_CaCO3,SiO2,Ba\nW,25,7.6,<1,15 mg/L,31.1,4,45,60,150,1e3,NaN\n")
	f.Add("id,T_C,pH,Ca,Mg,Na,K,Cl,SO4,Alk_CaCO3\n\"a\nb\",25,7\n,,,\n")
	f.Add("\ufeffID,ph,t_c,ca,mg,na,k,cl,so4,alk_caco3,conductivity\nx,7,10,1,1,1,1,1,1,1,-3\n")
	f.Fuzz(func(t *testing.T, s string) {
		recs, err := ReadAnalysesCSV(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, r := range recs {
			if r.Err != nil {
				continue
			}
			if err := r.Analysis.Validate(); err != nil {
				t.Fatalf("accepted invalid analysis %+v: %v", r.Analysis, err)
			}
			if r.ID == "" {
				t.Fatalf("accepted record without id")
			}
		}
	})
}
