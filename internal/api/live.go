package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/store"
)

// Seen is the latest admitted reading of a meter.
type Seen struct {
	Seq        uint64
	Index      uint64
	Time       time.Time // device time
	Received   time.Time
	Enterprise string
	Values     []store.Value
	Flags      store.Flags
}

// Live keeps each meter's latest reading in memory and fans committed
// readings and alarms out to server-sent-event subscribers. Fanning out
// never waits: it only queues events, a subscriber that falls a whole queue
// behind is dropped (its client reconnects), and whether a subscriber may
// see an event is decided by the subscriber's own goroutine, off the
// ingest path.
type Live struct {
	mu   sync.RWMutex
	seen map[string]Seen

	// MaxSubscribers caps the live streams open at once (default
	// DefaultMaxSubscribers); MaxSubscribersPerToken caps those of one
	// token (default DefaultMaxSubscribersPerToken). Set them before use.
	MaxSubscribers, MaxSubscribersPerToken int

	subMu    sync.Mutex
	subs     map[*subscriber]struct{}
	perToken map[string]int
	dropped  atomic.Uint64
	// unencodable counts events left out because they could not be encoded.
	unencodable atomic.Uint64
}

// Defaults of Live's caps.
const (
	DefaultMaxSubscribers         = 256
	DefaultMaxSubscribersPerToken = 8
)

// liveQueue is how many events a subscriber may be behind before it is
// dropped.
const liveQueue = 1024

type subscriber struct {
	enterprise string // "" for every enterprise the caller may see
	token      string
	ch         chan liveEvent
	gone       chan struct{} // closed when the subscriber is dropped for falling behind
}

type liveEvent struct {
	kind       string
	enterprise string
	data       []byte
}

// NewLive returns an empty Live.
func NewLive() *Live {
	return &Live{seen: map[string]Seen{}, subs: map[*subscriber]struct{}{}, perToken: map[string]int{}}
}

// Load seeds the latest readings from the store's admission states at start.
func (l *Live) Load(states []store.MeterState, enterpriseOf func(meter string) string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, st := range states {
		l.seen[st.Meter] = Seen{Seq: st.Seq, Index: st.Index, Time: st.Time, Received: st.Time, Enterprise: enterpriseOf(st.Meter)}
	}
}

// Seen returns a meter's latest reading.
func (l *Live) Seen(meterID string) (Seen, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	s, ok := l.seen[meterID]
	return s, ok
}

// Received returns when each meter's latest reading was received (the
// offline check asks every few seconds: one copy of what it needs, not of
// every meter's whole reading).
func (l *Live) Received() map[string]time.Time {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make(map[string]time.Time, len(l.seen))
	for k, v := range l.seen {
		out[k] = v.Received
	}
	return out
}

type readingEvent struct {
	Meter      string             `json:"meter"`
	Enterprise string             `json:"enterprise"`
	Seq        uint64             `json:"seq"`
	Index      uint64             `json:"index"`
	Time       time.Time          `json:"time"`
	Values     map[string]float64 `json:"values"`
	Flags      []string           `json:"flags"`
}

// Committed records a commit of the ingest pipeline.
func (l *Live) Committed(c *ingest.Committed) {
	l.mu.Lock()
	for i, r := range c.Readings {
		l.seen[r.Meter] = Seen{Seq: r.Seq, Index: r.Index, Time: r.Time, Received: r.Received,
			Enterprise: c.Enterprise[i], Values: r.Values, Flags: r.Flags}
	}
	l.mu.Unlock()
	l.subMu.Lock()
	n := len(l.subs)
	l.subMu.Unlock()
	if n == 0 {
		return
	}
	for i, r := range c.Readings {
		ev := readingEvent{Meter: r.Meter, Enterprise: c.Enterprise[i], Seq: r.Seq, Index: r.Index, Time: r.Time,
			Values: make(map[string]float64, len(r.Values)), Flags: nonNil(r.Flags.Names())}
		for _, v := range r.Values {
			ev.Values[v.Channel] = v.Value
		}
		l.send("reading", c.Enterprise[i], ev)
	}
}

// Alarm sends an alarm to the subscribers that may see it.
func (l *Live) Alarm(a alarm.Alarm) {
	l.send("alarm", a.Enterprise, a)
}

// send encodes v and broadcasts it. A value that cannot be encoded (a NaN
// the validity rule should have kept out) is not sent as an empty event:
// it is counted and left out.
func (l *Live) send(kind, enterprise string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		l.unencodable.Add(1)
		return
	}
	l.broadcast(liveEvent{kind: kind, enterprise: enterprise, data: data})
}

// broadcast queues ev for every subscriber of its enterprise; one whose
// queue is full is dropped.
func (l *Live) broadcast(ev liveEvent) {
	l.subMu.Lock()
	defer l.subMu.Unlock()
	for s := range l.subs {
		if s.enterprise != "" && s.enterprise != ev.enterprise {
			continue
		}
		select {
		case s.ch <- ev:
		default:
			l.remove(s)
			close(s.gone)
			l.dropped.Add(1)
		}
	}
}

// errTooManyStreams and errTooManyTokenStreams refuse a subscription over
// Live's caps.
var (
	errTooManyStreams      = errorf(http.StatusServiceUnavailable, "too many live streams open; try again later")
	errTooManyTokenStreams = errorf(http.StatusTooManyRequests, "this token has too many live streams open; close one first")
)

// subscribe adds a subscriber within the caps.
func (l *Live) subscribe(token, enterprise string) (*subscriber, error) {
	max, perToken := l.MaxSubscribers, l.MaxSubscribersPerToken
	if max <= 0 {
		max = DefaultMaxSubscribers
	}
	if perToken <= 0 {
		perToken = DefaultMaxSubscribersPerToken
	}
	l.subMu.Lock()
	defer l.subMu.Unlock()
	if len(l.subs) >= max {
		return nil, errTooManyStreams
	}
	if l.perToken[token] >= perToken {
		return nil, errTooManyTokenStreams
	}
	s := &subscriber{enterprise: enterprise, token: token, ch: make(chan liveEvent, liveQueue), gone: make(chan struct{})}
	l.subs[s] = struct{}{}
	l.perToken[token]++
	return s, nil
}

// unsubscribe removes a subscriber, if broadcast has not dropped it already.
func (l *Live) unsubscribe(s *subscriber) {
	l.subMu.Lock()
	defer l.subMu.Unlock()
	l.remove(s)
}

// remove forgets s; the caller holds subMu.
func (l *Live) remove(s *subscriber) {
	if _, ok := l.subs[s]; !ok {
		return
	}
	delete(l.subs, s)
	if l.perToken[s.token]--; l.perToken[s.token] <= 0 {
		delete(l.perToken, s.token)
	}
}

// Subscribers returns the number of live streams open.
func (l *Live) Subscribers() int {
	l.subMu.Lock()
	defer l.subMu.Unlock()
	return len(l.subs)
}

// Dropped returns how many subscribers were dropped for falling behind.
func (l *Live) Dropped() uint64 { return l.dropped.Load() }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// stream serves server-sent events: "reading" and "alarm".
func (s *Server) stream(w http.ResponseWriter, r *http.Request, p *Principal) {
	ent := r.URL.Query().Get("enterprise")
	if ent != "" {
		if _, err := s.enterprise(r.Context(), p, ent); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		s.fail(w, r, errorf(http.StatusInternalServerError, "streaming not supported"))
		return
	}
	// Enterprise visibility is decided once per enterprise and remembered,
	// here in the stream's own goroutine.
	visible := map[string]bool{}
	allow := func(e string) bool {
		if p.SeesAll() {
			return true
		}
		v, ok := visible[e]
		if !ok {
			ent, err := s.opts.Store.Enterprise(r.Context(), e)
			v = err == nil && p.CanSeeEnterprise(ent)
			visible[e] = v
		}
		return v
	}
	live := s.opts.Live
	sub, err := live.subscribe(p.Token.ID, ent)
	if err != nil {
		w.Header().Set("Retry-After", "10")
		s.fail(w, r, err)
		return
	}
	defer live.unsubscribe(sub)
	// A stream outlives the server's read and write timeouts; each write
	// gets its own deadline instead, so a client that stops reading is cut
	// off.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	writeBy := func() { _ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout)) }

	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	writeBy()
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n: connected\n\n")
	flusher.Flush()
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	send := func(ev liveEvent) {
		if allow(ev.enterprise) {
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.kind, ev.data)
		}
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-sub.gone:
			return // fell behind: the client reconnects and starts afresh
		case ev := <-sub.ch:
			writeBy()
			send(ev)
			// Send what else is queued before flushing.
			for n := 0; n < 64; n++ {
				select {
				case ev = <-sub.ch:
					send(ev)
					continue
				default:
				}
				break
			}
			if rc.Flush() != nil {
				return
			}
		case <-tick.C:
			writeBy()
			fmt.Fprint(w, ": keep-alive\n\n")
			if rc.Flush() != nil {
				return
			}
		}
	}
}

// streamWriteTimeout bounds each write of a live stream.
const streamWriteTimeout = 30 * time.Second
