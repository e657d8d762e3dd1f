package leak

import (
	"strings"
	"testing"
)

func TestReadSCADATrainingFile(t *testing.T) {
	g := ltownGraph(t)
	s, err := ReadSCADA(openData(t, "leak", "training_ltown", "train_01.csv.gz"), g)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Times) != 4032 || s.Step != 300 || len(s.Sensors) != 37 {
		t.Fatalf("%d rows, step %d, %d sensors; want 4032, 300, 37", len(s.Times), s.Step, len(s.Sensors))
	}
	if s.Column("leak_flow") >= 0 || s.Column("L_T1") < 0 || s.Column("Q_PUMP_1") < 0 || s.Column("P_n769") < 0 {
		t.Errorf("columns %v", s.Sensors)
	}
}

func TestReadSCADAErrors(t *testing.T) {
	g, err := NewPipeGraph([]GraphLink{{ID: "p1", From: "n1", To: "n2", Length: 10, IsPipe: true}, {ID: "PUMP_1", From: "n2", To: "T1"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, in, want string }{
		{"gap", "t_s,P_n1\n0,1\n300,1\n900,1\n", "line 4: gap"},
		{"duplicate", "t_s,P_n1\n0,1\n300,1\n300,1\n", "line 4: duplicate time"},
		{"unsorted", "t_s,P_n1\n0,1\n300,1\n0,1\n", "line 4: time 0 is before"},
		{"unknown node", "t_s,P_n1,P_n9\n0,1,1\n", "column 3 \"P_n9\": unknown pressure sensor"},
		{"unknown link", "t_s,Q_p9\n0,1\n", "unknown flow sensor"},
		{"not a number", "t_s,P_n1,Q_p1\n0,1,1\n300,1,x\n", "line 3 column Q_p1: not a number"},
		{"NaN", "t_s,P_n1\n0,1\n300,NaN\n", "line 3 column P_n1"},
		{"empty cell", "t_s,P_n1\n0,1\n300,\n", "line 3 column P_n1"},
		{"bad time", "t_s,P_n1\n0,1\nnoon,1\n", "line 3 column t_s"},
		{"short row", "t_s,P_n1\n0,1\n300\n", "line 3"},
		{"no time column", "P_n1\n1\n", "no t_s"},
		{"no sensors", "t_s,x\n0,1\n", "no sensor columns"},
		{"duplicate column", "t_s,P_n1,P_n1\n0,1,1\n", "duplicate column"},
		{"one row", "t_s,P_n1\n0,1\n", "fewer than two rows"},
		{"empty", "", "empty file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadSCADA(strings.NewReader(tc.in), g)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
	// Extra columns are ignored, never parsed.
	s, err := ReadSCADA(strings.NewReader("t_s,P_n1,leak_flow,L_T1,Q_PUMP_1\n0,1,oops,2,3\n300,1.5,,2,3\n"), g)
	if err != nil || len(s.Sensors) != 3 || s.Values[1][0] != 1.5 {
		t.Errorf("got %+v, %v", s, err)
	}
}

func FuzzReadSCADA(f *testing.F) {
	f.Add("t_s,P_n1,Q_p1,L_T1,leak_flow\n0,1,2,3,0\n300,1,2,3,x\n")
	f.Add("t_s,P_n1\n0,1\n300,1\n900,1\n")
	f.Add("\"t_s\",P_n1\n0,1e308\n1,-0\n")
	g, err := NewPipeGraph([]GraphLink{{ID: "p1", From: "n1", To: "n2", Length: 10, IsPipe: true}, {ID: "v", From: "n2", To: "T1"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ReadSCADA(strings.NewReader(in), g)
		if err != nil {
			return
		}
		if len(s.Times) < 2 || s.Step <= 0 || len(s.Values) != len(s.Times) {
			t.Fatalf("accepted malformed table: %+v", s)
		}
		for i := 1; i < len(s.Times); i++ {
			if s.Times[i]-s.Times[i-1] != s.Step {
				t.Fatalf("uneven times accepted: %v", s.Times)
			}
		}
	})
}
