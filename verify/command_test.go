package verify

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/reading"
)

// signCommand signs a command entry with the given key (the log key, or a forger's).
func signCommand(t testing.TB, s note.Signer, c *reading.CommandEntry) []byte {
	t.Helper()
	msg, err := note.Sign(&note.Note{Text: c.Text()}, s)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func issue(id, device string, value, max float64) *reading.CommandEntry {
	return &reading.CommandEntry{ID: id, Event: reading.EventIssue, Plant: "PL-1", Enterprise: "EN-1", Device: device,
		Command: "inhibitor_pump", Value: value, HasValue: true, Unit: "L/h", Min: 0, Max: max, HasBounds: true,
		Source: reading.SourceController, By: "dosing.inhibitor", Reason: "product 4.6 mg/L below 5",
		Inputs: []reading.Input{{Name: "fluor_ppb", Value: 46}}, Time: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)}
}

func outcome(id, device, event string) *reading.CommandEntry {
	return &reading.CommandEntry{ID: id, Event: event, Plant: "PL-1", Device: device, Command: "inhibitor_pump",
		Detail: "applied", Attempts: 1, Time: time.Date(2026, 11, 2, 0, 0, 1, 0, time.UTC)}
}

func TestAuditCommands(t *testing.T) {
	k := newTestKeys(t, origin, 0)
	m := newTestMeter(t, "HN-1")
	clean := [][]byte{k.register(t, m), m.next(t),
		signCommand(t, k.logSigner, issue("C1", "PUMP-1", 0.21, 0.3)),
		signCommand(t, k.logSigner, outcome("C1", "PUMP-1", reading.EventAck)),
		m.next(t),
		signCommand(t, k.logSigner, issue("C2", "PUMP-1", 0.3, 0.3)),
		signCommand(t, k.logSigner, outcome("C2", "PUMP-1", reading.EventTimeout)),
	}
	rep := auditEntries(t, k, clean)
	if rep.Failed(true) || rep.CommandEntries != 4 || len(rep.Commands) != 4 || len(rep.CommandStats) != 1 {
		t.Fatalf("clean log with commands: %+v", rep)
	}
	st := rep.CommandStats[0]
	if st.Issued != 2 || st.Acked != 1 || st.TimedOut != 1 || st.MaxValue != 0.3 || st.MaxBound != 0.3 || st.Device != "PUMP-1" {
		t.Fatalf("stats %+v", st)
	}
	if c := rep.Commands[0]; c.Index != 2 || c.ID != "C1" || c.Value == nil || *c.Value != 0.21 || *c.Max != 0.3 {
		t.Fatalf("listed command %+v", c)
	}

	forgerS, _, _ := note.GenerateKey(rand.Reader, "forger")
	forger, _ := note.NewSigner(forgerS)
	tests := []struct {
		name    string
		entries [][]byte
		kind    ProblemKind
		detail  string
	}{
		{"above its bound", [][]byte{signCommand(t, k.logSigner, issue("C1", "PUMP-1", 0.31, 0.3))}, ProblemCommand, "outside the bounds"},
		{"outcome never issued", [][]byte{signCommand(t, k.logSigner, outcome("C9", "PUMP-1", reading.EventAck))}, ProblemCommand, "never issued"},
		{"outcome from another device", [][]byte{signCommand(t, k.logSigner, issue("C1", "PUMP-1", 0.1, 0.3)),
			signCommand(t, k.logSigner, outcome("C1", "PUMP-2", reading.EventAck))}, ProblemCommand, "issued to PUMP-1"},
		{"issued twice", [][]byte{signCommand(t, k.logSigner, issue("C1", "PUMP-1", 0.1, 0.3)),
			signCommand(t, k.logSigner, issue("C1", "PUMP-1", 0.2, 0.3))}, ProblemCommand, "issued twice"},
		{"not signed by the log", [][]byte{signCommand(t, forger, issue("C1", "PUMP-1", 0.1, 0.3))}, ProblemSignature, "command entry"},
		{"malformed", [][]byte{signCommand(t, k.logSigner, &reading.CommandEntry{})}, ProblemMalformed, ""},
	}
	for _, tc := range tests {
		rep := auditEntries(t, k, tc.entries)
		if rep.ProblemCount != 1 || rep.Problems[0].Kind != tc.kind || !strings.Contains(rep.Problems[0].Detail, tc.detail) {
			t.Errorf("%s: problems %+v", tc.name, rep.Problems)
		}
	}
}

// auditEntries writes entries as a tiled log and audits it.
func auditEntries(t *testing.T, k *testKeys, entries [][]byte) *AuditReport {
	t.Helper()
	dir := t.TempDir()
	k.writeTiles(t, dir, entries)
	f, err := NewFetcher(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Audit(context.Background(), f, AuditOptions{LogKey: k.logKey, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}
