package actuate

import (
	"context"
	"errors"
	"fmt"

	"github.com/shuixiao/shuixiao/command"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/reading"
)

// CommandStore is what Recover needs of the store.
type CommandStore interface {
	SaveCommands(ctx context.Context, cs []command.Record) error
	Command(ctx context.Context, id string) (command.Record, error)
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
	var rec command.Record
	switch e.Event {
	case reading.EventIssue, reading.EventSetpoint, reading.EventMode:
		if exists {
			return nil
		}
		rec = command.Record{ID: e.ID, Plant: e.Plant, Enterprise: e.Enterprise, Device: e.Device, Actuator: e.Command,
			Value: e.Value, Unit: e.Unit, Min: e.Min, Max: e.Max, Interlocks: e.Interlocks, Mode: e.Mode, Source: e.Source,
			By: e.By, Reason: e.Reason, Issued: e.Time, Index: index}
		switch e.Event {
		case reading.EventIssue:
			rec.Kind, rec.Status = command.KindIssue, command.Pending
		case reading.EventSetpoint:
			rec.Kind, rec.Status = command.KindSetpoint, command.Logged
		default:
			rec.Kind, rec.Status = command.KindMode, command.Logged
		}
		if e.HasRequested {
			r := e.Requested
			rec.Requested = &r
		}
		for _, in := range e.Inputs {
			rec.Inputs = append(rec.Inputs, command.Input{Name: in.Name, Value: in.Value})
		}
		for _, in := range e.Indices {
			rec.Indices = append(rec.Indices, command.Input{Name: in.Name, Value: in.Value})
		}
	case reading.EventAck, reading.EventNack, reading.EventTimeout:
		if !exists {
			return fmt.Errorf("outcome of command %s: its issue entry is not in the store", e.ID)
		}
		if old.OutcomeIndex != 0 {
			return nil
		}
		rec = old
		rec.Status = map[string]string{reading.EventAck: command.Acked, reading.EventNack: command.Nacked,
			reading.EventTimeout: command.Timeout}[e.Event]
		rec.Attempts, rec.Answered, rec.Detail, rec.OutcomeIndex = e.Attempts, e.Time, e.Detail, index
	default:
		return fmt.Errorf("command %s: unknown event %q", e.ID, e.Event)
	}
	return st.SaveCommands(ctx, []command.Record{rec})
}
