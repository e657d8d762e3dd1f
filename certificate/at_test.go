package certificate

import (
	"reflect"
	"testing"
)

// TestCertificateAt: a certificate and its statement's issued total as
// they stood after each entry, replayed from the fold's history, equal the
// fold of the entries up to that one.
func TestCertificateAt(t *testing.T) {
	evs := []Event{
		{20, issue("op-1", "wrc-1", "mvs-1", 700, 1000)},
		{21, transfer("op-2", "wrc-1", "ent-a", "ent-b", 300)},
		{25, retire("op-3", "wrc-1", "ent-b", 100)},
		{30, issue("op-4", "wrc-2", "mvs-1", 300, 1000)},
		{31, transfer("op-5", "wrc-1", "ent-b", "ent-c", 200)},
	}
	s, err := Fold(evs)
	if err != nil {
		t.Fatal(err)
	}
	for k := range evs {
		prefix, err := Fold(evs[:k+1])
		if err != nil {
			t.Fatal(err)
		}
		idx := evs[k].Index
		for _, id := range []string{"wrc-1", "wrc-2"} {
			want, wok := prefix.Certificate(id)
			got, gok := s.CertificateAt(id, idx)
			if wok != gok || !reflect.DeepEqual(got, want) {
				t.Errorf("%s at %d: %+v (%v), want %+v (%v)", id, idx, got, gok, want, wok)
			}
		}
		want, _ := prefix.Issued("mvs-1")
		if got := s.IssuedAt("mvs-1", idx); got != want {
			t.Errorf("issued on mvs-1 at %d: %d, want %d", idx, got, want)
		}
		ev, ok := s.OperationEvent(evs[k].Entry.ID)
		if !ok || ev.Index != idx || ev.Entry != evs[k].Entry {
			t.Errorf("operation %s: %+v %v", evs[k].Entry.ID, ev, ok)
		}
	}
}

// TestClone: a clone folds on by itself; the original does not move.
func TestClone(t *testing.T) {
	s, err := Fold([]Event{{20, issue("op-1", "wrc-1", "mvs-1", 700, 1000)}})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Clone()
	if err := c.Apply(21, transfer("op-2", "wrc-1", "ent-a", "ent-b", 300)); err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(22, issue("op-3", "wrc-2", "mvs-1", 300, 1000)); err != nil {
		t.Fatal(err)
	}
	orig, _ := s.Certificate("wrc-1")
	if orig.Holdings["ent-a"] != 700 || len(orig.History) != 1 || s.Len() != 1 {
		t.Errorf("the original moved with its clone: %+v, %d entries", orig, s.Len())
	}
	if issued, _ := s.Issued("mvs-1"); issued != 700 || s.IssuedAt("mvs-1", 22) != 700 {
		t.Errorf("the original's statement moved: %d issued", issued)
	}
	if _, ok := s.Operation("op-2"); ok {
		t.Error("the clone's operation is in the original")
	}
	moved, _ := c.Certificate("wrc-1")
	if moved.Holdings["ent-b"] != 300 || c.Len() != 3 {
		t.Errorf("clone %+v, %d entries", moved, c.Len())
	}
	if (&State{}).Clone().Len() != 0 {
		t.Error("the empty state's clone is not empty")
	}
}
