package certificate

import (
	"errors"
	"reflect"
	"testing"
)

// TestFoldLifeCycle issues, splits by transfer and retires, and checks the
// holdings, balances and history at the end.
func TestFoldLifeCycle(t *testing.T) {
	s, err := Fold([]Event{
		{20, issue("op-1", "wrc-1", "mvs-1", 700, 1000)},
		{21, transfer("op-2", "wrc-1", "ent-a", "ent-b", 300)},
		{25, retire("op-3", "wrc-1", "ent-b", 100)},
		{30, issue("op-4", "wrc-2", "mvs-1", 300, 1000)},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, ok := s.Certificate("wrc-1")
	if !ok {
		t.Fatal("wrc-1 missing")
	}
	if want := map[string]uint64{"ent-a": 400, "ent-b": 200}; !reflect.DeepEqual(c.Holdings, want) {
		t.Errorf("holdings %v, want %v", c.Holdings, want)
	}
	if c.Retired != 100 || c.Volume != 700 || c.Allowance != 1000 || len(c.History) != 3 || c.History[2].Index != 25 {
		t.Errorf("retired %d volume %d history %v", c.Retired, c.Volume, c.History)
	}
	if got, want := s.Balances(), []Balance{{"ent-a", 700, 0}, {"ent-b", 200, 100}}; !reflect.DeepEqual(got, want) {
		t.Errorf("balances %v, want %v", got, want)
	}
	if issued, allowance := s.Issued("mvs-1"); issued != 1000 || allowance != 1000 {
		t.Errorf("issued %d of %d", issued, allowance)
	}
	if got := c.Parties(); !reflect.DeepEqual(got, []string{"ent-a", "ent-b"}) {
		t.Errorf("parties %v", got)
	}
	// A copy handed out does not change the state.
	c.Holdings["ent-z"] = 5
	if again, _ := s.Certificate("wrc-1"); again.Holdings["ent-z"] != 0 {
		t.Error("Certificate returned the state's own map")
	}
}

// TestFoldRefuses: each operation after a common prefix is refused with its
// kind, and the state is unchanged by the refusal.
func TestFoldRefuses(t *testing.T) {
	prefix := []Event{
		{20, issue("op-1", "wrc-1", "mvs-1", 700, 1000)},
		{21, transfer("op-2", "wrc-1", "ent-a", "ent-b", 300)},
	}
	other := issue("op-9", "wrc-9", "mvs-1", 1, 1000)
	otherDigest := *other
	otherDigest.Digest = "f" + digest[1:]
	otherAllowance := *other
	otherAllowance.Allowance = 5000
	otherHolder := *other
	otherHolder.Holder = "ent-b"
	for _, c := range []struct {
		name  string
		index uint64
		e     *Entry
		kind  error
	}{
		{"double issue of a certificate ID", 30, issue("op-9", "wrc-1", "mvs-2", 10, 10), ErrExists},
		{"over-issue of a statement", 30, issue("op-9", "wrc-9", "mvs-1", 301, 1000), ErrOverIssue},
		{"issue with another digest", 30, &otherDigest, ErrOverIssue},
		{"issue with a larger allowance", 30, &otherAllowance, ErrOverIssue},
		{"issue to another enterprise", 30, &otherHolder, ErrOverIssue},
		{"replayed operation", 30, transfer("op-2", "wrc-1", "ent-a", "ent-b", 300), ErrReplayed},
		{"transfer by a non-holder", 30, transfer("op-9", "wrc-1", "ent-c", "ent-b", 1), ErrNotHolder},
		{"transfer beyond the holding", 30, transfer("op-9", "wrc-1", "ent-b", "ent-c", 301), ErrNotHolder},
		{"retire beyond the holding", 30, retire("op-9", "wrc-1", "ent-a", 401), ErrNotHolder},
		{"retire by a non-holder", 30, retire("op-9", "wrc-1", "ent-c", 1), ErrNotHolder},
		{"unknown certificate", 30, transfer("op-9", "wrc-8", "ent-a", "ent-b", 1), ErrUnknown},
		{"out of ledger order", 21, transfer("op-9", "wrc-1", "ent-a", "ent-b", 1), ErrOrder},
		{"checkpoint after the entry", 5, issue("op-9", "wrc-9", "mvs-2", 1, 1), ErrOrder},
	} {
		s, err := Fold(prefix)
		if err != nil {
			t.Fatal(err)
		}
		before := s.Certificates()
		err = s.Apply(c.index, c.e)
		if !errors.Is(err, c.kind) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.kind)
			continue
		}
		if !reflect.DeepEqual(s.Certificates(), before) || s.Len() != 2 {
			t.Errorf("%s: the refused entry changed the state", c.name)
		}
	}
}

// TestFoldSpendTwice: the same holding cannot be spent twice by two
// different operations.
func TestFoldSpendTwice(t *testing.T) {
	s, _ := Fold([]Event{{20, issue("op-1", "wrc-1", "mvs-1", 100, 100)}})
	if err := s.Apply(21, transfer("op-2", "wrc-1", "ent-a", "ent-b", 100)); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(22, transfer("op-3", "wrc-1", "ent-a", "ent-c", 100)); !errors.Is(err, ErrNotHolder) {
		t.Fatalf("second spend: %v", err)
	}
	if err := s.Apply(23, retire("op-4", "wrc-1", "ent-a", 1)); !errors.Is(err, ErrNotHolder) {
		t.Fatalf("retire after spending: %v", err)
	}
}

func TestAllowance(t *testing.T) {
	for _, c := range []struct {
		meets      bool
		s, u       float64
		want       uint64
		unverified bool
	}{
		{true, 1000.9, 200.2, 800, false},
		{true, 1000, 1000, 0, true},
		{true, 900, 1000, 0, true},
		{false, 1000, 10, 0, true},
		{true, 100.5, 100, 0, true},
		{true, 1e20, 0, 0, true},
	} {
		got, err := Allowance(c.meets, c.s, c.u)
		if got != c.want || errors.Is(err, ErrUnverifiable) != c.unverified {
			t.Errorf("Allowance(%v, %g, %g) = %d, %v", c.meets, c.s, c.u, got, err)
		}
	}
}
