// Package alarms holds the operators' use cases of alarms (package alarm):
// reading one or a list as a caller may see them, acknowledging and
// clearing one, each change stamped with who and when and told to the live
// stream; and the alarm of a condition a part of the server reports
// (a controller, the actuation layer), raised while it lasts and cleared
// when it ends. Raising and clearing alarms from what the platform observes is
// internal/alarmwatch's (and netmon's, control's, dispatch's).
package alarms

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/refusal"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

// Store is what the use cases read and write.
type Store interface {
	Alarm(ctx context.Context, id int64) (alarm.Alarm, error)
	Alarms(ctx context.Context, f alarm.Filter) ([]alarm.Alarm, error)
	AckAlarm(ctx context.Context, id int64, by string, at time.Time, note string) (alarm.Alarm, error)
	ClearAlarm(ctx context.Context, id int64, by string, at time.Time, note string) (alarm.Alarm, error)
	RaiseAlarm(ctx context.Context, a alarm.Alarm) (stored alarm.Alarm, created bool, err error)
	Enterprise(ctx context.Context, id string) (meter.Enterprise, error)
	Meter(ctx context.Context, id string) (meter.Meter, error)
}

// Sees reports whether the caller may see an enterprise; nil sees every
// one (an admin, an auditor, a province-wide regulator).
type Sees func(meter.Enterprise) bool

// ErrOutsideScope is the error of an alarm the caller may not see.
var ErrOutsideScope = errors.New("alarm outside the caller's scope")

// Service runs the operators' alarm use cases.
type Service struct {
	Store Store
	Now   func() time.Time // default time.Now
	// Notify is told of every alarm changed (the live stream); may be nil.
	Notify func(alarm.Alarm)
}

// Visible reports whether a caller may see an alarm: one who sees every
// enterprise sees every alarm; another sees an alarm of a registered
// enterprise it sees, and no alarm without an enterprise.
func (s *Service) Visible(ctx context.Context, a alarm.Alarm, sees Sees) bool {
	if sees == nil {
		return true
	}
	if a.Enterprise == "" {
		return false
	}
	e, err := s.Store.Enterprise(ctx, a.Enterprise)
	return err == nil && sees(e)
}

// Get returns an alarm the caller may see: store.ErrNotFound for none,
// ErrOutsideScope for one outside the caller's scope.
func (s *Service) Get(ctx context.Context, id int64, sees Sees) (alarm.Alarm, error) {
	a, err := s.Store.Alarm(ctx, id)
	if err != nil {
		return a, err
	}
	if !s.Visible(ctx, a, sees) {
		return alarm.Alarm{}, fmt.Errorf("alarm %d: %w", id, ErrOutsideScope)
	}
	return a, nil
}

// List returns the alarms matching f that the caller may see. The caller
// narrows f to its tenant first (a park or enterprise token's own); Visible
// then decides each alarm.
func (s *Service) List(ctx context.Context, f alarm.Filter, sees Sees) ([]alarm.Alarm, error) {
	as, err := s.Store.Alarms(ctx, f)
	if err != nil {
		return nil, err
	}
	out := []alarm.Alarm{}
	for _, a := range as {
		if s.Visible(ctx, a, sees) {
			out = append(out, a)
		}
	}
	return out, nil
}

// Ack acknowledges alarm a (as read by Get) by an operator, now, with a
// note. An alarm that is not active is refused with store.ErrConflict,
// naming its state. The acknowledged alarm is told to Notify.
func (s *Service) Ack(ctx context.Context, a alarm.Alarm, by, note string) (alarm.Alarm, error) {
	return s.change(ctx, a, by, note, s.Store.AckAlarm)
}

// Clear clears alarm a (as read by Get) by an operator, now, with a note.
// An alarm already cleared is refused with store.ErrConflict. The cleared
// alarm is told to Notify.
func (s *Service) Clear(ctx context.Context, a alarm.Alarm, by, note string) (alarm.Alarm, error) {
	return s.change(ctx, a, by, note, s.Store.ClearAlarm)
}

func (s *Service) change(ctx context.Context, a alarm.Alarm, by, note string,
	act func(ctx context.Context, id int64, by string, at time.Time, note string) (alarm.Alarm, error)) (alarm.Alarm, error) {
	changed, err := act(ctx, a.ID, by, s.now(), note)
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			state := a.State
			if cur, err := s.Store.Alarm(ctx, a.ID); err == nil {
				state = cur.State // what refused the change, if it moved since a was read
			}
			return alarm.Alarm{}, refusal.New(store.ErrConflict, "alarm %d is %s: %v", a.ID, state, err)
		}
		return alarm.Alarm{}, err
	}
	if s.Notify != nil {
		s.Notify(changed)
	}
	return changed, nil
}

// Condition is a condition a part of the server reports while it lasts: a
// controller's or the actuation layer's, about a meter or device.
type Condition struct {
	Kind       string
	Severity   alarm.Severity
	Enterprise string
	Meter      string // the sensor or device, if known
	Message    string
}

// Raise raises the condition's alarm now (the store repeats an open one),
// on the point of its meter when the meter is registered, and tells Notify.
// created reports a new alarm.
func (s *Service) Raise(ctx context.Context, c Condition) (alarm.Alarm, bool, error) {
	point := ""
	if m, err := s.Store.Meter(ctx, c.Meter); err == nil {
		point = m.Point
	}
	a, created, err := s.Store.RaiseAlarm(ctx, alarm.Alarm{Kind: c.Kind, Severity: c.Severity, Enterprise: c.Enterprise, Point: point,
		Meter: c.Meter, Message: c.Message, Raised: s.now()})
	if err != nil {
		return alarm.Alarm{}, false, err
	}
	if s.Notify != nil {
		s.Notify(a)
	}
	return a, created, nil
}

// ClearCondition clears, by by and now with a note, every open alarm of
// the condition's kind, meter and enterprise, and tells Notify each one
// cleared. An alarm cleared meanwhile by someone else is passed over.
func (s *Service) ClearCondition(ctx context.Context, c Condition, by, note string) error {
	open, err := s.Store.Alarms(ctx, alarm.Filter{Open: true, Kind: c.Kind, Meter: c.Meter, Enterprise: c.Enterprise})
	if err != nil {
		return err
	}
	for _, a := range open {
		cleared, err := s.Store.ClearAlarm(ctx, a.ID, by, s.now(), note)
		if err != nil {
			continue
		}
		if s.Notify != nil {
			s.Notify(cleared)
		}
	}
	return nil
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}
