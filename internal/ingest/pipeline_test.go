package ingest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/ledger"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/quarantine"
	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/rejection"
)

// memLedger and memStore stand in for the real ledger and store, whose own
// packages test durability; here the subject is admission and ordering.
type memLedger struct {
	mu      sync.Mutex
	entries [][]byte
	fail    error
	partial int           // with fail: sequence this many of the next batch first
	sizes   []int         // entries of each Append call
	gate    chan struct{} // if set, each Append waits for it to close
	waiting int           // Append calls that reached the gate
}

func (l *memLedger) Append(_ context.Context, es [][]byte) ([]uint64, error) {
	if l.gate != nil {
		l.mu.Lock()
		l.waiting++
		l.mu.Unlock()
		<-l.gate
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sizes = append(l.sizes, len(es))
	if l.fail != nil {
		if l.partial == 0 {
			return nil, l.fail
		}
		idx := make([]uint64, len(es))
		for i, e := range es {
			idx[i] = ledger.NotSequenced
			if i < l.partial {
				idx[i] = uint64(len(l.entries))
				l.entries = append(l.entries, e)
			}
		}
		l.partial = 0
		return idx, l.fail
	}
	var idx []uint64
	for _, e := range es {
		idx = append(idx, uint64(len(l.entries)))
		l.entries = append(l.entries, e)
	}
	return idx, nil
}

type memStore struct {
	mu          sync.Mutex
	readings    map[string]store.Reading // meter/seq
	rejections  []rejection.Rejection
	quarantined []quarantine.Record
	ledgerSize  uint64
	commits     int
	// refuse, if set, makes Commit refuse a batch with a reading it
	// returns an error for, as a store refuses content.
	refuse func(r store.Reading) error
	// transient makes the next so many commits fail as a busy disk does.
	transient int
}

func newMemStore() *memStore { return &memStore{readings: map[string]store.Reading{}} }

func (s *memStore) Commit(_ context.Context, b *store.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commits++
	if s.transient > 0 {
		s.transient--
		return errors.New("database is locked")
	}
	for i := range b.Readings {
		if err := b.Readings[i].Validate(); err != nil {
			return err
		}
		if s.refuse != nil {
			if err := s.refuse(b.Readings[i]); err != nil {
				return err
			}
		}
	}
	for _, r := range b.Readings {
		s.readings[fmt.Sprintf("%s/%d", r.Meter, r.Seq)] = r
	}
	s.rejections = append(s.rejections, b.Rejections...)
	s.quarantined = append(s.quarantined, b.Quarantined...)
	s.ledgerSize = max(s.ledgerSize, b.LedgerSize)
	return nil
}

func (s *memStore) ReadingBySeq(_ context.Context, m string, seq uint64) (store.Reading, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.readings[fmt.Sprintf("%s/%d", m, seq)]
	if !ok {
		return store.Reading{}, store.ErrNotFound
	}
	return r, nil
}

type testMeter struct {
	id     string
	vkey   string
	signer note.Signer
	seq    uint64
	prev   reading.Hash
}

func newTestMeter(t testing.TB, dir *Directory, id string) *testMeter {
	return newCollectedMeter(t, dir, id, "")
}

// next signs the meter's next reading.
func (m *testMeter) next(t testing.TB, at time.Time, total float64) []byte {
	t.Helper()
	m.seq++
	r := &reading.Reading{Meter: m.id, Seq: m.seq, Time: at, Prev: m.prev, Point: "P-" + m.id,
		Values: []reading.Value{{Channel: "total_m3", Value: total}, {Channel: "flow_m3h", Value: 3.5}}}
	msg, err := reading.Sign(r, m.signer)
	if err != nil {
		t.Fatal(err)
	}
	m.prev = reading.HashOf(msg)
	return msg
}

// run signs the meter's next n readings, totals 0, 1, 2, ….
func (m *testMeter) run(t testing.TB, n int) [][]byte {
	msgs := make([][]byte, n)
	for j := range msgs {
		msgs[j] = m.next(t, t0, float64(j))
	}
	return msgs
}

func submitWait(p *Pipeline, raw []byte, device string) Result {
	ch := make(chan Result, 1)
	p.Submit(raw, device, "test", func(r Result) { ch <- r })
	return <-ch
}

var t0 = time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)

func newTestPipeline(t *testing.T) (*Pipeline, *memLedger, *memStore, *Directory) {
	dir := NewDirectory()
	l, s := &memLedger{}, newMemStore()
	p, err := New(Options{Ledger: l, Store: s, Directory: dir, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p, l, s, dir
}

func TestPipelineAdmission(t *testing.T) {
	p, l, s, dir := newTestPipeline(t)
	m := newTestMeter(t, dir, "M1")

	r1 := m.next(t, t0, 100)
	res := submitWait(p, r1, "M1")
	if res.Reject != nil || res.Index != 0 || res.Duplicate {
		t.Fatalf("first reading: %+v", res)
	}
	r2 := m.next(t, t0.Add(time.Minute), 101)
	if res := submitWait(p, r2, "M1"); res.Reject != nil || res.Index != 1 || res.Flags != 0 {
		t.Fatalf("second reading: %+v", res)
	}
	// Exact resubmission of the last and of an older reading: same index, no new entry.
	if res := submitWait(p, r2, "M1"); !res.Duplicate || res.Index != 1 {
		t.Fatalf("resubmission of last: %+v", res)
	}
	if res := submitWait(p, r1, "M1"); !res.Duplicate || res.Index != 0 {
		t.Fatalf("resubmission of older: %+v", res)
	}
	// A different reading with an old seq is a replay.
	m2 := *m
	m2.seq = 0
	replay := m2.next(t, t0, 999)
	if res := submitWait(p, replay, "M1"); res.Reject == nil || res.Reject.Reason != ReasonReplay {
		t.Fatalf("replay: %+v", res)
	}
	// A lost reading: seq 4 after 2 is accepted and flagged as a gap.
	m.next(t, t0, 102)
	r4 := m.next(t, t0.Add(-3*time.Minute), 103)
	if res := submitWait(p, r4, "M1"); res.Reject != nil || res.Flags != store.FlagGap {
		t.Fatalf("gap: %+v", res)
	}
	// Clock far off: flagged, kept.
	if res := submitWait(p, m.next(t, t0.Add(time.Hour), 104), "M1"); res.Reject != nil || res.Flags != store.FlagSkew {
		t.Fatalf("skew: %+v", res)
	}
	// Implausible value: flagged, kept.
	if res := submitWait(p, m.next(t, t0, -5), "M1"); res.Reject != nil || res.Flags != store.FlagImplausible {
		t.Fatalf("implausible: %+v", res)
	}
	if len(l.entries) != 5 {
		t.Fatalf("ledger has %d entries, want 5", len(l.entries))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.readings) != 5 || len(s.rejections) != 1 {
		t.Fatalf("store: %d readings, %d rejections", len(s.readings), len(s.rejections))
	}
}

func TestPipelineRejections(t *testing.T) {
	p, l, s, dir := newTestPipeline(t)
	m := newTestMeter(t, dir, "M1")
	other := newTestMeter(t, dir, "M2")
	good := m.next(t, t0, 1)

	forged := []byte(strings.Replace(string(good), "total_m3 1\n", "total_m3 9\n", 1))
	cases := map[string]struct {
		raw    []byte
		device string
		reason string
	}{
		"tampered value":   {forged, "M1", ReasonBadSignature},
		"on other's topic": {good, "M2", ReasonWrongDevice},
		"garbage":          {[]byte("hello"), "M1", ReasonMalformed},
		"too large":        {make([]byte, reading.MaxSize+1), "M1", ReasonTooLarge},
	}
	// Signed by M2's key but claiming to be M1.
	r := &reading.Reading{Meter: "M1", Seq: 1, Time: t0, Point: "P-M1", Values: []reading.Value{{Channel: "total_m3", Value: 1}}}
	text := r.Text()
	wrongKey, _ := note.Sign(&note.Note{Text: text}, other.signer)
	cases["signed by another meter"] = struct {
		raw    []byte
		device string
		reason string
	}{wrongKey, "", ReasonBadSignature}
	stranger := &testMeter{id: "M9"}
	skey, _, _ := note.GenerateKey(rand.Reader, reading.KeyName("M9"))
	stranger.signer, _ = note.NewSigner(skey)
	cases["unknown meter"] = struct {
		raw    []byte
		device string
		reason string
	}{stranger.next(t, t0, 1), "M9", ReasonUnknownMeter}
	for name, tc := range cases {
		res := submitWait(p, tc.raw, tc.device)
		if res.Reject == nil || res.Reject.Reason != tc.reason {
			t.Errorf("%s: got %+v, want %s", name, res, tc.reason)
		}
	}
	dir.Revoke("M1")
	if res := submitWait(p, good, "M1"); res.Reject == nil || res.Reject.Reason != ReasonRevokedKey {
		t.Errorf("revoked: %+v", res)
	}
	if len(l.entries) != 0 {
		t.Fatalf("rejected readings reached the ledger: %d", len(l.entries))
	}
	// Every rejection is counted through the store.
	p.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.rejections) != len(cases)+1 {
		t.Fatalf("%d rejections stored, want %d", len(s.rejections), len(cases)+1)
	}
}

func TestPipelineLedgerFailureLosesNothing(t *testing.T) {
	p, l, s, dir := newTestPipeline(t)
	m := newTestMeter(t, dir, "M1")
	r1 := m.next(t, t0, 1)
	l.mu.Lock()
	l.fail = errors.New("disk full")
	l.mu.Unlock()
	if res := submitWait(p, r1, "M1"); res.Reject == nil || res.Reject.Reason != ReasonUnavailable {
		t.Fatalf("with ledger down: %+v", res)
	}
	l.mu.Lock()
	l.fail = nil
	l.mu.Unlock()
	// The device retries the same reading: it is admitted, not seen as a duplicate.
	if res := submitWait(p, r1, "M1"); res.Reject != nil || res.Duplicate || res.Index != 0 {
		t.Fatalf("retry: %+v", res)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.readings) != 1 {
		t.Fatalf("store has %d readings", len(s.readings))
	}
}

func TestPipelineConcurrentMeters(t *testing.T) {
	p, l, s, dir := newTestPipeline(t)
	const meters, each = 10, 30
	var wg sync.WaitGroup
	for i := 0; i < meters; i++ {
		m := newTestMeter(t, dir, fmt.Sprintf("M%d", i))
		msgs := m.run(t, each)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Publish everything without waiting, then resend it all (QoS 1 redelivery).
			var inner sync.WaitGroup
			for round := 0; round < 2; round++ {
				for _, msg := range msgs {
					inner.Add(1)
					p.Submit(msg, m.id, "test", func(r Result) {
						defer inner.Done()
						if r.Reject != nil {
							t.Errorf("%s: %v", m.id, r.Reject)
						}
					})
				}
				inner.Wait()
			}
		}()
	}
	wg.Wait()
	if len(l.entries) != meters*each {
		t.Fatalf("ledger has %d entries, want %d", len(l.entries), meters*each)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.readings) != meters*each {
		t.Fatalf("store has %d readings", len(s.readings))
	}
	for _, r := range s.readings {
		if r.Flags&store.FlagGap != 0 {
			t.Fatalf("in-order readings flagged as gap: %s seq %d", r.Meter, r.Seq)
		}
	}
	if s.ledgerSize != meters*each {
		t.Fatalf("ledger size committed %d, want %d", s.ledgerSize, meters*each)
	}
}

func TestPipelinePartialAppend(t *testing.T) {
	dir := NewDirectory()
	l, s := &memLedger{fail: errors.New("disk full"), partial: 1}, newMemStore()
	// One big batch: hold the sequencer until both readings are queued.
	p, err := New(Options{Ledger: l, Store: s, Directory: dir, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	m := newTestMeter(t, dir, "M1")
	r1, r2 := m.next(t, t0, 1), m.next(t, t0, 2)
	var results [2]chan Result
	for i, raw := range [][]byte{r1, r2} {
		results[i] = make(chan Result, 1)
		ch := results[i]
		p.Submit(raw, "M1", "test", func(r Result) { ch <- r })
	}
	a, b := <-results[0], <-results[1]
	l.mu.Lock()
	l.fail = nil
	l.mu.Unlock()
	// Whatever happened, each reading ends up in the ledger exactly once
	// after the device retries the refused one.
	for i, r := range []Result{a, b} {
		if r.Reject != nil {
			if r.Reject.Reason != ReasonUnavailable {
				t.Fatalf("reading %d: %v", i+1, r.Reject)
			}
			if res := submitWait(p, [][]byte{r1, r2}[i], "M1"); res.Reject != nil {
				t.Fatalf("retry of reading %d: %+v", i+1, res)
			}
		}
	}
	if res := submitWait(p, r1, "M1"); !res.Duplicate {
		t.Fatalf("resubmission after recovery: %+v", res)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.entries) != 2 {
		t.Fatalf("ledger has %d entries, want exactly 2", len(l.entries))
	}
}

func TestPipelineEntriesInLedgerOrder(t *testing.T) {
	p, l, s, dir := newTestPipeline(t)
	m := newTestMeter(t, dir, "M1")
	if res := submitWait(p, m.next(t, t0, 1), "M1"); res.Reject != nil {
		t.Fatal(res.Reject)
	}
	var applied []uint64
	idx, err := p.SubmitEntry(context.Background(), Entry{Raw: []byte("key entry"), Apply: func(_ context.Context, i uint64) error {
		applied = append(applied, i)
		return nil
	}})
	if err != nil || idx != 1 || len(applied) != 1 || applied[0] != 1 {
		t.Fatalf("entry: index %d, err %v, applied %v", idx, err, applied)
	}
	if string(l.entries[1]) != "key entry" {
		t.Fatalf("ledger entry 1 = %q", l.entries[1])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ledgerSize != 2 {
		t.Fatalf("ledger size %d", s.ledgerSize)
	}
}

func TestPipelineLinger(t *testing.T) {
	dir := NewDirectory()
	l, s := &memLedger{}, newMemStore()
	p, err := New(Options{Ledger: l, Store: s, Directory: dir, Linger: 300 * time.Millisecond, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	m := newTestMeter(t, dir, "M1")
	if r := submitWait(p, m.next(t, t0, 1), ""); r.Reject != nil {
		t.Fatal(r.Reject)
	}
	// The next batch may not start before the linger has passed since the
	// first: readings sent 50 ms apart meanwhile share one append.
	start := time.Now()
	var wg sync.WaitGroup
	for i := 2; i <= 4; i++ {
		wg.Add(1)
		p.Submit(m.next(t, t0, float64(i)), "", "test", func(r Result) {
			defer wg.Done()
			if r.Reject != nil {
				t.Error(r.Reject)
			}
		})
		time.Sleep(50 * time.Millisecond)
	}
	wg.Wait()
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("answered after %v", waited)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.sizes) != 2 || l.sizes[1] != 3 {
		t.Fatalf("append sizes %v, want [1 3]", l.sizes)
	}
}

func TestPipelineVerifiersKeepMeterOrder(t *testing.T) {
	// Many meters through many verifiers: each meter's readings must reach
	// the sequencer in the order submitted, or later ones would be refused
	// as replays and earlier ones flagged as gaps.
	dir := NewDirectory()
	l, s := &memLedger{}, newMemStore()
	p, err := New(Options{Ledger: l, Store: s, Directory: dir, Verifiers: 7, Linger: -1, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const meters, each = 40, 50
	var wg sync.WaitGroup
	for i := 0; i < meters; i++ {
		m := newTestMeter(t, dir, fmt.Sprintf("V%02d", i))
		msgs := m.run(t, each)
		wg.Add(each)
		go func() {
			for _, msg := range msgs {
				p.Submit(msg, m.id, "test", func(r Result) {
					defer wg.Done()
					if r.Reject != nil {
						t.Errorf("%s: %v", m.id, r.Reject)
					}
				})
			}
		}()
	}
	wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.readings) != meters*each {
		t.Fatalf("store has %d readings, want %d", len(s.readings), meters*each)
	}
	for _, r := range s.readings {
		if r.Flags&store.FlagGap != 0 {
			t.Fatalf("%s seq %d flagged as a gap", r.Meter, r.Seq)
		}
	}
}

func TestPipelineKeyEntryOrdersReadings(t *testing.T) {
	// A reading whose signature was checked while the key was valid, but
	// which reaches the ledger after the key's revocation, must be refused:
	// the log's own key history would disown it (verify.ProblemRevokedMeter).
	// Likewise a reading signed with the old key after a new key's entry.
	for _, action := range []string{reading.ActionRevoke, reading.ActionRegister} {
		t.Run(action, func(t *testing.T) {
			dir := NewDirectory()
			l, s := &memLedger{gate: make(chan struct{})}, newMemStore()
			p, err := New(Options{Ledger: l, Store: s, Directory: dir, Linger: -1, Now: func() time.Time { return t0 }})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			var once sync.Once
			release := func() { once.Do(func() { close(l.gate) }) }
			defer release()
			m := newTestMeter(t, dir, "M1")
			first := make(chan Result, 1)
			p.Submit(m.next(t, t0, 1), "M1", "test", func(r Result) { first <- r })
			waitFor(t, func() bool { l.mu.Lock(); defer l.mu.Unlock(); return l.waiting == 1 }) // held in its append

			ke := &reading.KeyEntry{Action: action, Meter: "M1", Enterprise: "E1", Point: "P-M1", Time: t0, Reason: "test"}
			newKey := newTestMeter(t, NewDirectory(), "M1") // another key for the same meter
			if action == reading.ActionRegister {
				ke.Key, ke.Signed = newKey.vkey, "meter"
			}
			entryDone := make(chan error, 1)
			go func() {
				_, err := p.SubmitEntry(context.Background(), Entry{Raw: []byte(ke.Text()), Key: ke, Apply: func(context.Context, uint64) error {
					if action == reading.ActionRevoke {
						dir.Revoke("M1")
					}
					return nil
				}})
				entryDone <- err
			}()
			waitFor(t, func() bool { return len(p.queue) == 1 })
			// Checked now, against the directory before the entry is applied.
			late := make(chan Result, 1)
			p.Submit(m.next(t, t0, 2), "M1", "test", func(r Result) { late <- r })
			waitFor(t, func() bool { return len(p.queue) == 2 })

			release()
			if r := <-first; r.Reject != nil {
				t.Fatalf("first reading: %v", r.Reject)
			}
			if err := <-entryDone; err != nil {
				t.Fatal(err)
			}
			r := <-late
			want := ReasonRevokedKey
			if action == reading.ActionRegister {
				want = ReasonBadSignature
			}
			if r.Reject == nil || r.Reject.Reason != want {
				t.Fatalf("reading checked before the %s entry and sequenced after it: %+v, want refused %s", action, r, want)
			}
			l.mu.Lock()
			defer l.mu.Unlock()
			if len(l.entries) != 2 {
				t.Fatalf("ledger holds %d entries, want the first reading and the key entry", len(l.entries))
			}
		})
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestCloseWhileSending: readings, refusals and entries handed to the
// pipeline while it closes are each answered exactly once — stored, or
// refused as unavailable — and a send never meets the close of its channel
// (the race detector reports one that does).
func TestCloseWhileSending(t *testing.T) {
	for round := range 20 {
		dir := NewDirectory()
		p, err := New(Options{Ledger: &memLedger{}, Store: newMemStore(), Directory: dir, Now: func() time.Time { return t0 }, QueueLen: 8, Verifiers: 2})
		if err != nil {
			t.Fatal(err)
		}
		var answered, sent atomic.Int64
		var wg sync.WaitGroup
		for g := range 4 {
			m := newTestMeter(t, dir, fmt.Sprintf("M%d", g))
			msgs := m.run(t, 50)
			wg.Add(2)
			go func() {
				defer wg.Done()
				for _, raw := range msgs {
					sent.Add(1)
					var once atomic.Int32
					p.Submit(raw, "", "test", func(Result) {
						if once.Add(1) == 1 {
							answered.Add(1)
						}
					})
				}
			}()
			go func() {
				defer wg.Done()
				for range 50 {
					p.Reject(rejection.Rejection{Meter: "X", Reason: ReasonMalformed, Time: t0})
				}
			}()
		}
		time.Sleep(time.Duration(round%5) * time.Millisecond)
		p.Close()
		wg.Wait()
		if answered.Load() != sent.Load() {
			t.Fatalf("round %d: %d readings sent, %d answered", round, sent.Load(), answered.Load())
		}
	}
}
