package actuate

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/shuixiao/shuixiao/command"
	"github.com/shuixiao/shuixiao/reading"
)

// fakeLedger keeps entries in order, each parsed back from its text (as
// the verifier would read it).
type fakeLedger struct {
	mu      sync.Mutex
	entries []*reading.CommandEntry
	fail    bool
}

func (l *fakeLedger) Record(_ context.Context, e *reading.CommandEntry) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail {
		return 0, errors.New("ledger down")
	}
	back, err := reading.ParseCommandEntry([]byte(e.Text()))
	if err != nil {
		return 0, err
	}
	l.entries = append(l.entries, back)
	return uint64(len(l.entries) - 1), nil
}

func (l *fakeLedger) all() []*reading.CommandEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*reading.CommandEntry(nil), l.entries...)
}

type fakeStore struct {
	mu        sync.Mutex
	commands  map[string]command.Record
	overrides map[string]command.Override
	errs      []error
}

func newFakeStore() *fakeStore {
	return &fakeStore{commands: map[string]command.Record{}, overrides: map[string]command.Override{}}
}

func (s *fakeStore) SaveCommands(_ context.Context, cs []command.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		// A real store keeps records as JSON: every record must encode.
		if _, err := json.Marshal(c); err != nil {
			s.errs = append(s.errs, err)
			return err
		}
		s.commands[c.ID] = c
	}
	return nil
}

func (s *fakeStore) SetOverride(_ context.Context, o command.Override) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.overrides[o.Plant+"/"+o.Actuator] = o
	return nil
}

func (s *fakeStore) command(id string) command.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commands[id]
}

type published struct {
	topic   string
	payload []byte
}

// fakeBroker captures every publish; onPublish (if set) plays the device.
type fakeBroker struct {
	mu        sync.Mutex
	msgs      []published
	onPublish func(device string, m Message)
}

func (b *fakeBroker) Publish(topic string, payload []byte, qos byte) error {
	if qos != 1 {
		return errors.New("commands must be QoS 1")
	}
	b.mu.Lock()
	b.msgs = append(b.msgs, published{topic, append([]byte(nil), payload...)})
	f := b.onPublish
	b.mu.Unlock()
	if f != nil {
		m, err := ParseMessage(payload)
		if err == nil {
			f(strings.TrimPrefix(topic, CommandsTopic), m)
		}
	}
	return nil
}

func (b *fakeBroker) all() []published {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]published(nil), b.msgs...)
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// drain runs, in the test goroutine, what Run would: the queued sends and
// acknowledgements, then the expiry check.
func (a *Actuation) drain(ctx context.Context) {
	for range 3 { // a retry published by expire may be acknowledged at once
		for empty := false; !empty; {
			select {
			case b := <-a.sends:
				a.send(ctx, b)
			case ev := <-a.acks:
				a.answer(ctx, ev)
			default:
				empty = true
			}
		}
		a.expire(ctx)
	}
	var group []outcome
	for empty := false; !empty; {
		select {
		case o := <-a.outq:
			group = append(group, o)
		default:
			empty = true
		}
	}
	if len(group) > 0 {
		a.writeOutcomes(ctx, group)
	}
}
