package actuate

import (
	"context"
	"errors"
	"fmt"

	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/store"
)

// CommandStore is what Recover needs of the store.
type CommandStore interface {
	SaveCommands(ctx context.Context, cs []store.CommandRecord) error
	Command(ctx context.Context, id string) (store.CommandRecord, error)
}

// Recover puts a command ledger entry's record in the store, for the
// catch-up after a crash between the ledger append and the store write: an
// issue, set-point or mode entry creates its record (unless it exists), an
// outcome entry (ack, nack, timeout) completes the record it answers. The
// ledger entry carries everything an auditor needs; the store's record is
// rebuilt from it, so inputs the entry leaves out (sensor ages, missing
// sensors) are absent from a recovered record. It is idempotent.
func Recover(ctx context.Context, st CommandStore, e *reading.CommandEntry, index uint64) error {
	old, err := st.Command(ctx, e.ID)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	var rec store.CommandRecord
	switch e.Event {
	case reading.EventIssue, reading.EventSetpoint, reading.EventMode:
		if exists {
			return nil
		}
		rec = store.CommandRecord{ID: e.ID, Plant: e.Plant, Enterprise: e.Enterprise, Device: e.Device, Actuator: e.Command,
			Value: e.Value, Unit: e.Unit, Min: e.Min, Max: e.Max, Interlocks: e.Interlocks, Mode: e.Mode, Source: e.Source,
			By: e.By, Reason: e.Reason, Issued: e.Time, Index: index}
		switch e.Event {
		case reading.EventIssue:
			rec.Kind, rec.Status = store.CommandIssue, store.CommandPending
		case reading.EventSetpoint:
			rec.Kind, rec.Status = store.CommandSetpoint, store.CommandLogged
		default:
			rec.Kind, rec.Status = store.CommandMode, store.CommandLogged
		}
		if e.HasRequested {
			r := e.Requested
			rec.Requested = &r
		}
		for _, in := range e.Inputs {
			rec.Inputs = append(rec.Inputs, store.CommandInput{Name: in.Name, Value: in.Value})
		}
		for _, in := range e.Indices {
			rec.Indices = append(rec.Indices, store.CommandInput{Name: in.Name, Value: in.Value})
		}
	case reading.EventAck, reading.EventNack, reading.EventTimeout:
		if !exists {
			return fmt.Errorf("outcome of command %s: its issue entry is not in the store", e.ID)
		}
		if old.OutcomeIndex != 0 {
			return nil
		}
		rec = old
		rec.Status = map[string]string{reading.EventAck: store.CommandAcked, reading.EventNack: store.CommandNacked,
			reading.EventTimeout: store.CommandTimeout}[e.Event]
		rec.Attempts, rec.Answered, rec.Detail, rec.OutcomeIndex = e.Attempts, e.Time, e.Detail, index
	default:
		return fmt.Errorf("command %s: unknown event %q", e.ID, e.Event)
	}
	return st.SaveCommands(ctx, []store.CommandRecord{rec})
}
