package actuate

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/command"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/reading"
)

func TestRecoverRebuildsCommandRecords(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"), sqlite.Options{ManualCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)
	issue := &reading.CommandEntry{ID: "C1", Event: reading.EventIssue, Plant: "PL", Enterprise: "E", Device: "D", Command: "blowdown_valve",
		Value: 42.5, HasValue: true, Unit: "%", Min: 0, Max: 100, HasBounds: true, Requested: 55, HasRequested: true,
		Interlocks: []string{"rate"}, Source: reading.SourceController, By: "cooling.blowdown", Reason: "cycles high",
		Inputs: []reading.Input{{Name: "basin_cond_us_cm", Value: 2010.5}}, Indices: []reading.Input{{Name: "lsi", Value: 0.8}}, Time: at}
	ack := &reading.CommandEntry{ID: "C1", Event: reading.EventAck, Plant: "PL", Device: "D", Command: "blowdown_valve",
		Detail: "applied", Attempts: 1, Time: at.Add(time.Second)}

	if err := Recover(ctx, st, ack, 8); err == nil {
		t.Fatal("an outcome without its issue was accepted")
	}
	for i := 0; i < 2; i++ { // twice: idempotent
		if err := Recover(ctx, st, issue, 7); err != nil {
			t.Fatal(err)
		}
	}
	rec, err := st.Command(ctx, "C1")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != command.Pending || rec.Index != 7 || rec.Value != 42.5 || rec.Requested == nil || *rec.Requested != 55 ||
		rec.Kind != command.KindIssue || len(rec.Inputs) != 1 || len(rec.Indices) != 1 || !rec.Issued.Equal(at) {
		t.Fatalf("recovered issue: %+v", rec)
	}
	for i := 0; i < 2; i++ {
		if err := Recover(ctx, st, ack, 8); err != nil {
			t.Fatal(err)
		}
	}
	rec, _ = st.Command(ctx, "C1")
	if rec.Status != command.Acked || rec.OutcomeIndex != 8 || rec.Detail != "applied" || rec.Attempts != 1 {
		t.Fatalf("recovered outcome: %+v", rec)
	}
	sp := &reading.CommandEntry{ID: "S1", Event: reading.EventSetpoint, Plant: "PL", Enterprise: "E", Command: "cycles",
		Value: 5, HasValue: true, Min: 2, Max: 8, HasBounds: true, Source: reading.SourceOperator, By: "tok", Time: at}
	if err := Recover(ctx, st, sp, 9); err != nil {
		t.Fatal(err)
	}
	if rec, _ := st.Command(ctx, "S1"); rec.Kind != command.KindSetpoint || rec.Status != command.Logged {
		t.Fatalf("recovered set-point: %+v", rec)
	}
}
