package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/ledger"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/quarantine"
	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/rejection"
)

// Rejection reasons. They are stable identifiers: counters, the API and
// MQTT 5 reason strings use them.
const (
	ReasonTooLarge       = "too-large"
	ReasonMalformed      = "malformed"
	ReasonUnknownMeter   = "unknown-meter"
	ReasonRevokedKey     = "revoked-key"
	ReasonBadSignature   = "bad-signature"
	ReasonWrongDevice    = "wrong-device"    // reading of meter A on meter B's connection
	ReasonWrongGateway   = "wrong-gateway"   // gateway-signed reading of a meter its gateway does not sign for, or the reverse
	ReasonPointMismatch  = "point-mismatch"  // reading names another metering point
	ReasonUnknownChannel = "unknown-channel" // channel not declared on the point
	ReasonReplay         = "replay"          // seq not above the last admitted, and not an exact resubmission
	ReasonInvalid        = "invalid"         // a field outside the validity rule (reading.Reading.Check) or time too far ahead
	ReasonSeqJump        = "seq-jump"        // seq more than Policy.MaxSeqJump above the last admitted
	ReasonQuarantined    = "quarantined"     // in the ledger, but the store refused it: set aside (quarantine.Record)
	ReasonUnavailable    = "unavailable"     // ledger or store failed; retry later
)

// Result is the answer to a submitted reading or key entry.
type Result struct {
	Seq       uint64 // the reading's seq, when it parsed
	Index     uint64
	Duplicate bool
	Flags     store.Flags
	Reject    *rejection.Rejection // non-nil when refused
}

// Entry is a non-reading ledger entry sequenced in order with the readings,
// such as a meter-key registration. Apply makes its effect in the store once
// it has its index; it runs in ledger order before the batch's readings are
// committed, and again (idempotently) if the store catches up from the
// ledger after a crash.
type Entry struct {
	Raw   []byte
	Apply func(ctx context.Context, index uint64) error
	// Key, for a meter-key registration or revocation, is its content.
	// The sequencer then holds readings of that meter to the key as of
	// their place in the log, even if their signatures were checked
	// before the entry was applied (see keyChange).
	Key *reading.KeyEntry
	// Prompt entries (a registration someone waits for) start a batch
	// without waiting out the linger that gathers readings.
	Prompt bool
	// Group, if set, applies this entry with the entries next to it in
	// its ledger batch that share the Group, in one call (a bulk
	// registration: one store transaction instead of one each). Apply
	// must still be set: a batch the store refuses is applied one entry
	// at a time (setAside). Member is the entry's place in the group.
	Group  *EntryGroup
	Member int
}

// EntryGroup applies entries of one bulk submission together: Apply gets
// the Members of a run of them, in ledger order, with their indices.
type EntryGroup struct {
	Apply func(ctx context.Context, members []int, indices []uint64) error
}

// Committed is what one commit stored, for live streams, alarms and receipts.
type Committed struct {
	Readings   []store.Reading
	Enterprise []string // enterprise of each reading
	Raw        [][]byte // signed note of each reading
	Rejections []rejection.Rejection
	// Quarantined are ledger entries of this batch the store refused and
	// that were set aside instead (see quarantine.Record).
	Quarantined []quarantine.Record
}

// Ledger appends entries durably and returns their indices. On error it may
// still return one index per entry, ledger.NotSequenced for those that
// failed (*ledger.Log is the implementation).
type Ledger interface {
	Append(ctx context.Context, entries [][]byte) ([]uint64, error)
}

// Store is the part of store.Ingester the pipeline uses.
type Store interface {
	Commit(ctx context.Context, b *store.Batch) error
	ReadingBySeq(ctx context.Context, meterID string, seq uint64) (store.Reading, error)
}

// Options configures a Pipeline.
type Options struct {
	Ledger    Ledger
	Store     Store
	Directory *Directory
	Policy    Policy
	// States is the meters' admission state at start (from the store).
	States map[string]MeterState
	// MaxBatch bounds readings per ledger append and store commit.
	MaxBatch int
	// Linger is the least time between the starts of two batches. Every
	// ledger append rewrites the right edge of the tree (partial tiles and
	// entry bundle) and syncs it; batches a few tens of milliseconds apart
	// keep that cost small per reading while adding little to the time to
	// acknowledge. 0 means 25 ms; negative: no linger.
	Linger time.Duration
	// QueueLen bounds readings waiting for the sequencer; a full queue makes
	// Submit block, which pushes back on publishers.
	QueueLen int
	// Verifiers is the number of signature-checking workers; 0 means one
	// per CPU. A meter's readings always go to the same worker, so they
	// reach the sequencer in the order they were submitted.
	Verifiers int
	// Now returns the receive time; nil means time.Now.
	Now func() time.Time
	// OnCommitted is called after each commit (live streams, alarms, receipts).
	OnCommitted func(c *Committed)
	Logger      *slog.Logger
	// Registerer receives the pipeline's Prometheus metrics; nil: none.
	Registerer prometheus.Registerer
	// Quarantined is the number of ledger entries CatchUp set aside before
	// the pipeline started; shuixiao_ingest_quarantined_total starts there.
	Quarantined int
	// Hold is how long a meter's later readings are held back (answered
	// unavailable, not admitted) after one of its readings failed to reach
	// the ledger, waiting for that reading to come again: admitting a later
	// one first would make it a replay. It applies to readings from the bus
	// (SubmitChecked) and meter-signed ones; not to gateway-signed readings
	// submitted directly, whose gateway signs anew what its device resends. A failure again restarts the hold;
	// it ends when the failed reading has its final outcome, or after Hold
	// without it (a device that gave the reading up). 0 means 5 minutes.
	Hold time.Duration
}

// Pipeline is the admission → ledger → store path. Submit may be called from
// many goroutines (one per MQTT connection); readings are parsed there,
// their signatures checked by a few verifier workers (a meter always on the
// same one), and one sequencer orders them into ledger appends at least
// Linger apart, while the commit stage writes the previous batch to the
// store and answers it.
type Pipeline struct {
	opts    Options
	verify  []chan *item // per verifier worker
	vwg     sync.WaitGroup
	queue   chan *item
	commits chan *pending
	states  meterStates           // owned by the sequencer goroutine
	keys    map[string]*keyChange // owned by the sequencer goroutine
	holds   map[string]hold       // owned by the sequencer goroutine
	// unpruned are the entries of keys that pruneKeys has yet to drop,
	// in ledger order (owned by the sequencer goroutine).
	unpruned []*keyChange
	// checking counts, per verifier, the readings it took and the
	// sequencer has not yet admitted; lastGen is the directory generation
	// of the last of them the sequencer admitted (owned by it). See
	// pruneKeys.
	checking []atomic.Int64
	lastGen  []uint64
	// inflight holds readings appended to the ledger but not yet committed,
	// so a resubmission racing its own commit is still seen as a duplicate.
	inflightMu sync.Mutex
	inflight   map[reading.Hash]uint64
	wg         sync.WaitGroup
	cancel     context.CancelFunc
	closed     chan struct{}
	// senders is held (read) by every caller handing an item to a verifier
	// or to the queue, and (write) by Close before it closes those
	// channels: a send never meets a close. shut is set under the write
	// lock.
	senders sync.RWMutex
	shut    bool
	metrics *metrics
}

type item struct {
	raw      []byte
	rd       *reading.Reading
	hash     reading.Hash
	dev      *Device
	gw       *GatewayKey // the gateway key a gateway-signed reading was checked with
	flags    store.Flags
	received time.Time
	source   string
	entry    *Entry     // non-nil for a key entry instead of a reading
	verifier int        // 1 + the verifier that checked it; 0: none did
	gen      uint64     // the directory's generation before that check
	change   *keyChange // a key entry's, once appended
	edgeKey  string     // SubmitChecked: the key an edge checked the signature with
	fromBus  bool       // SubmitChecked: the bus delivers it again until it is final
	dupOf    *item      // an identical reading earlier in the same batch
	failed   bool       // appended, and the ledger did not sequence it
	done     func(Result)
	result   Result
}

type pending struct {
	batch   *store.Batch
	entries []*item // key entries with their index, to apply before the batch
	items   []*item
	extra   Committed
}

// New starts a pipeline.
func New(opts Options) (*Pipeline, error) {
	if opts.Ledger == nil || opts.Store == nil || opts.Directory == nil {
		return nil, errors.New("ingest: Ledger, Store and Directory are required")
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 4096
	}
	if opts.QueueLen <= 0 {
		opts.QueueLen = 4 * opts.MaxBatch
	}
	if opts.Linger == 0 {
		opts.Linger = 25 * time.Millisecond
	}
	if opts.Verifiers <= 0 {
		opts.Verifiers = runtime.NumCPU()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Hold <= 0 {
		opts.Hold = 5 * time.Minute
	}
	opts.Policy = opts.Policy.withDefaults()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	states := newMeterStates(opts.Directory, opts.States)
	opts.States = nil // not kept: a map of every meter's ID
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pipeline{
		opts:     opts,
		queue:    make(chan *item, opts.QueueLen),
		commits:  make(chan *pending, 2),
		states:   states,
		keys:     map[string]*keyChange{},
		holds:    map[string]hold{},
		inflight: map[reading.Hash]uint64{},
		cancel:   cancel,
		closed:   make(chan struct{}),
	}
	p.metrics = newMetrics(opts.Registerer, func() float64 { return float64(len(p.queue)) }, func() float64 { return float64(p.verifyLen()) })
	p.metrics.quarantined.Add(float64(opts.Quarantined))
	p.verify = make([]chan *item, opts.Verifiers)
	p.checking, p.lastGen = make([]atomic.Int64, opts.Verifiers), make([]uint64, opts.Verifiers)
	for i := range p.verify {
		p.verify[i] = make(chan *item, max(opts.QueueLen/opts.Verifiers, 64))
		p.vwg.Add(1)
		go p.verifier(i)
	}
	p.wg.Add(2)
	go p.sequence(ctx)
	go p.commit(ctx)
	return p, nil
}

// Close stops accepting, finishes what was queued and waits.
func (p *Pipeline) Close() {
	select {
	case <-p.closed:
		return
	default:
	}
	close(p.closed)
	// Senders under way finish (the verifiers and the sequencer still
	// take); later ones find shut and answer unavailable.
	p.senders.Lock()
	p.shut = true
	p.senders.Unlock()
	for _, ch := range p.verify {
		close(ch)
	}
	p.vwg.Wait()
	close(p.queue)
	p.wg.Wait()
	p.cancel()
}

// ErrClosed is returned for submissions after Close.
var ErrClosed = errors.New("ingest: pipeline closed")

// Submit checks a signed reading and queues it; done is called exactly once
// with the result, after the reading is in the ledger and the store (or
// refused). device, when not empty, is the authenticated sender (an MQTT
// username) that must match the reading's meter. Submit parses the reading
// on the caller's goroutine and hands it to its meter's verifier; it blocks
// while that verifier's queue is full, which pushes back on publishers.
func (p *Pipeline) Submit(raw []byte, device, source string, done func(Result)) {
	p.submit(&item{raw: raw, received: p.opts.Now(), source: source, done: done}, device)
}

func (p *Pipeline) submit(it *item, device string) {
	now, source := it.received, it.source
	if rej := p.parse(it, device); rej != nil {
		rej.Time, rej.Source = now, source
		p.refuse(it, rej)
		return
	}
	if !p.admit() {
		it.done(Result{Seq: it.rd.Seq, Reject: &rejection.Rejection{Meter: it.rd.Meter, Reason: ReasonUnavailable, Detail: ErrClosed.Error(), Time: now, Source: source}})
		return
	}
	p.verify[shard(it.rd.Meter, len(p.verify))] <- it
	p.senders.RUnlock()
}

// verifyLen is the number of readings waiting for their signature check.
func (p *Pipeline) verifyLen() int {
	n := 0
	for _, ch := range p.verify {
		n += len(ch)
	}
	return n
}

// shard picks a meter's verifier (FNV-1a).
func shard(meter string, n int) int {
	h := uint32(2166136261)
	for i := 0; i < len(meter); i++ {
		h = (h ^ uint32(meter[i])) * 16777619
	}
	return int(h % uint32(n))
}

// verifier checks signatures of its meters' readings in arrival order and
// passes them to the sequencer. A fixed number of workers, rather than a
// check on each connection's goroutine, bounds how many signature checks
// compete with the sequencer and the ledger for the CPUs, and gives the
// backlog a gauge of its own (shuixiao_ingest_verify_queue_readings).
func (p *Pipeline) verifier(w int) {
	defer p.vwg.Done()
	// The queue closes only after every verifier has returned, so what was
	// handed to a verifier before Close is still sequenced.
	for it := range p.verify[w] {
		// Counted before the generation is read (pruneKeys relies on it).
		p.checking[w].Add(1)
		it.verifier, it.gen = w+1, p.opts.Directory.generation()
		if rej := p.check(it); rej != nil {
			rej.Time, rej.Source = it.received, it.source
			it.result = Result{Reject: rej}
		} else {
			// The hash that admission chains and deduplicates by; an edge
			// node's check (EdgeChecker) has no use for it.
			it.hash = reading.HashOf(it.raw)
		}
		p.queue <- it
	}
}

// SubmitEntry sequences a non-reading ledger entry (e.g. a key registration)
// in order with the readings and waits until it is applied and committed.
func (p *Pipeline) SubmitEntry(ctx context.Context, e Entry) (uint64, error) {
	ch := make(chan Result, 1)
	it := &item{raw: e.Raw, entry: &e, received: p.opts.Now(), done: func(r Result) { ch <- r }}
	p.enqueue(it)
	select {
	case r := <-ch:
		if r.Reject != nil {
			return 0, fmt.Errorf("%s: %s", r.Reject.Reason, r.Reject.Detail)
		}
		return r.Index, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// SubmitEntries sequences entries together, as SubmitEntry does one: they
// are queued one after the other, so that the sequencer takes them in as
// few ledger batches as MaxBatch allows (a bulk registration: one synced
// append for thousands of entries, not one each). It waits for them all
// and returns their indices in order; on a refusal it returns the first
// error with the indices it has (zero for those not sequenced).
func (p *Pipeline) SubmitEntries(ctx context.Context, es []Entry) ([]uint64, error) {
	ch := make(chan Result, len(es))
	results := make([]Result, len(es))
	for i := range es {
		it := &item{raw: es[i].Raw, entry: &es[i], received: p.opts.Now(), done: func(r Result) { results[i] = r; ch <- r }}
		p.enqueue(it)
	}
	for range es {
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	idx := make([]uint64, len(es))
	var first error
	for i, r := range results {
		if r.Reject != nil {
			if first == nil {
				first = fmt.Errorf("entry %d: %s: %s", i, r.Reject.Reason, r.Reject.Detail)
			}
			continue
		}
		idx[i] = r.Index
	}
	return idx, first
}

// admit takes the senders' lock for one send; false (lock not held) once
// Close has begun.
func (p *Pipeline) admit() bool {
	select {
	case <-p.closed:
		return false // do not queue behind Close's write lock
	default:
	}
	p.senders.RLock()
	if p.shut {
		p.senders.RUnlock()
		return false
	}
	return true
}

func (p *Pipeline) enqueue(it *item) {
	if !p.admit() {
		it.done(Result{Reject: &rejection.Rejection{Reason: ReasonUnavailable, Detail: ErrClosed.Error(), Time: it.received, Source: it.source}})
		return
	}
	p.queue <- it
	p.senders.RUnlock()
}

// Reject counts a refusal decided outside the pipeline (an MQTT connection
// with bad credentials, a publish to a foreign topic) with the others.
func (p *Pipeline) Reject(rej rejection.Rejection) {
	p.refuse(&item{received: rej.Time, source: rej.Source, done: func(Result) {}}, &rej)
}

// refuse answers a reading that never reaches the sequencer; the rejection
// is still counted through the next commit.
func (p *Pipeline) refuse(it *item, rej *rejection.Rejection) {
	it.result = Result{Reject: rej}
	p.enqueue(it)
}

// parse checks size, syntax and sender. It runs on the submitter's goroutine.
func (p *Pipeline) parse(it *item, device string) *rejection.Rejection {
	if len(it.raw) > reading.MaxSize {
		return &rejection.Rejection{Meter: device, Reason: ReasonTooLarge, Detail: fmt.Sprintf("%d bytes, limit %d", len(it.raw), reading.MaxSize)}
	}
	rd, err := reading.Parse(it.raw)
	if err != nil {
		return &rejection.Rejection{Meter: device, Reason: ReasonMalformed, Detail: err.Error()}
	}
	it.rd = rd // for the seq in the answer, even if refused below
	// The sender is the meter itself, the gateway that signed the reading
	// (an edge box) or the meter's data collector forwarding it; the
	// signature check follows.
	if device != "" && !p.opts.Directory.Forwards(device, rd) {
		return &rejection.Rejection{Meter: device, Reason: ReasonWrongDevice, Detail: fmt.Sprintf("reading of meter %s sent by %s", rd.Meter, device)}
	}
	return nil
}

// check does the rest of what needs no ordering: key, signature, point and
// channels. It runs on the meter's verifier.
func (p *Pipeline) check(it *item) *rejection.Rejection {
	rd := it.rd
	dev, ok := p.opts.Directory.Get(rd.Meter)
	if !ok {
		return &rejection.Rejection{Meter: rd.Meter, Reason: ReasonUnknownMeter, Detail: "no key registered for meter " + rd.Meter}
	}
	if dev.Revoked {
		return &rejection.Rejection{Meter: rd.Meter, Reason: ReasonRevokedKey, Detail: "the key of meter " + rd.Meter + " was revoked"}
	}
	verifiers, gw, reason, detail := p.opts.Directory.SignerOf(dev, rd)
	if reason != "" {
		return &rejection.Rejection{Meter: rd.Meter, Reason: reason, Detail: fmt.Sprintf("seq %d: %s", rd.Seq, detail)}
	}
	n, err := note.Open(it.raw, edgeChecked(it, dev, verifiers))
	if err != nil {
		return &rejection.Rejection{Meter: rd.Meter, Reason: ReasonBadSignature, Detail: fmt.Sprintf("seq %d: %v", rd.Seq, err)}
	}
	it.gw = gw
	// The ledger keeps these bytes and the chain hashes them: they must be
	// exactly what the meter signed, with nothing another party added.
	if err := reading.CheckSigned(it.raw, n); err != nil {
		return &rejection.Rejection{Meter: rd.Meter, Reason: ReasonBadSignature, Detail: fmt.Sprintf("seq %d: %v", rd.Seq, err)}
	}
	if err := rd.Check(); err != nil {
		return &rejection.Rejection{Meter: rd.Meter, Reason: ReasonInvalid, Detail: fmt.Sprintf("seq %d: %v", rd.Seq, err)}
	}
	if rd.Point != dev.Point {
		return &rejection.Rejection{Meter: rd.Meter, Reason: ReasonPointMismatch, Detail: fmt.Sprintf("reading names point %s, meter is registered on %s", rd.Point, dev.Point)}
	}
	for i, v := range rd.Values {
		c, ok := dev.Channels[v.Channel]
		if !ok {
			return &rejection.Rejection{Meter: rd.Meter, Reason: ReasonUnknownChannel, Detail: fmt.Sprintf("channel %s is not declared on point %s", v.Channel, dev.Point)}
		}
		if !c.Plausible(v.Value) {
			it.flags |= store.FlagImplausible
		}
		rd.Values[i].Channel = c.Name
	}
	canonicalNames(rd, dev)
	it.rd, it.dev = rd, dev
	return nil
}

// canonicalNames points a checked reading's meter and point IDs at the
// directory's strings, equal to them (the checks above compared them); its
// channel names are already the point's (check). Every per-meter map after
// admission (the admission states, the live view, the alarm monitor's,
// the store's) keys or keeps these strings: shared, they cost the
// collector nothing per reading kept, where the parsed ones each kept an
// object per meter (and the whole values text, of which the channel names
// were slices) alive for as long as the meter's latest reading is
// remembered; and a map probe with the same string compares pointers, not
// bytes.
func canonicalNames(rd *reading.Reading, dev *Device) {
	rd.Meter, rd.Point = dev.Meter, dev.Point
}

// sequence admits queued items in arrival order, appends each batch to the
// ledger and hands it to the commit stage.
func (p *Pipeline) sequence(ctx context.Context) {
	defer p.wg.Done()
	defer close(p.commits)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var last time.Time // when the previous batch was taken
	var carry *item    // a key entry that ends the previous batch
	for {
		first := carry
		carry = nil
		if first == nil {
			waited := time.Now()
			var ok bool
			if first, ok = <-p.queue; !ok {
				return
			}
			p.metrics.idle.Add(time.Since(waited).Seconds())
		}
		items := []*item{first}
		// Key entries are appended in batches of their own (those already
		// queued, without waiting), so that the sequencer knows a key entry
		// is in the ledger before it admits the readings after it.
		keys := first.isKey()
		// Batches start at least Linger apart: a busy sequencer takes what
		// arrived meanwhile, an idle one waits out the rest of the linger.
		linger := time.Until(last.Add(p.opts.Linger))
		armed := false
		if !keys && linger > 0 && !first.isPrompt() {
			timer.Reset(linger)
			armed = true
		}
	fill:
		for len(items) < p.opts.MaxBatch {
			var it *item
			var ok bool
			select {
			case it, ok = <-p.queue:
			default:
				if !armed {
					break fill
				}
				select {
				case it, ok = <-p.queue:
				case <-timer.C:
					armed = false
					break fill
				}
			}
			if !ok {
				break fill
			}
			if it.isKey() != keys {
				carry = it
				break fill
			}
			items = append(items, it)
		}
		if armed {
			timer.Stop()
		}
		last = time.Now()
		p.commits <- p.admitBatch(ctx, items)
	}
}

func (it *item) isKey() bool { return it.entry != nil && it.entry.Key != nil }

func (it *item) isPrompt() bool { return it.entry != nil && it.entry.Prompt }

// keyChange is a meter-key entry this pipeline put in the ledger. Readings
// reach the sequencer after their signature check, which used the key
// directory as it was then; the directory changes only when an entry is
// applied, after its append. A reading checked before a key entry of its
// meter was applied but sequenced after the entry is checked again here
// against the entry: after a revocation it is refused, after a new key it
// must verify with that key. Otherwise the log would hold a reading that
// its own key history disowns, and every audit would report it.
type keyChange struct {
	ke       *reading.KeyEntry
	verifier note.Verifier // register only; nil if the key does not parse
	// applied is set by the commit stage once the entry (and so every
	// entry before it) has been applied; seen is whether the directory
	// was seen to hold its effect after that, and gen its generation
	// then (pruneKeys).
	applied atomic.Bool
	seen    bool
	gen     uint64
}

// recheck returns why a reading checked against dev must be refused under
// the meter's latest sequenced key entry, or nil.
func (k *keyChange) recheck(it *item) *rejection.Rejection {
	rd := it.rd
	rej := func(reason, detail string) *rejection.Rejection {
		return &rejection.Rejection{Time: it.received, Meter: rd.Meter, Reason: reason, Source: it.source, Detail: detail}
	}
	if k.ke.IsGateway() {
		// The gateway that signed it changed its key after the check.
		switch {
		case k.ke.Action == reading.ActionRevoke:
			return rej(ReasonRevokedKey, "the key of gateway "+k.ke.Gateway+" was revoked")
		case it.gw != nil && k.ke.Key == it.gw.Key:
			return nil
		case k.verifier == nil:
			return rej(ReasonBadSignature, fmt.Sprintf("seq %d: the registered gateway key does not parse", rd.Seq))
		}
		if _, err := note.Open(it.raw, note.VerifierList(k.verifier)); err != nil {
			return rej(ReasonBadSignature, fmt.Sprintf("seq %d: not signed with the gateway key registered before it: %v", rd.Seq, err))
		}
		return nil
	}
	switch {
	case k.ke.Action == reading.ActionRevoke:
		return rej(ReasonRevokedKey, "the key of meter "+rd.Meter+" was revoked")
	case k.ke.Key == it.dev.Key && k.ke.Gateway == it.dev.Gateway && k.ke.Point == it.dev.Point:
		return nil // checked against the same registration
	case rd.Point != k.ke.Point:
		return rej(ReasonPointMismatch, fmt.Sprintf("reading names point %s, meter is registered on %s", rd.Point, k.ke.Point))
	case k.ke.Gateway != "" || rd.Via != nil:
		// Now signed by a gateway, or was: the reading must name the
		// gateway the meter has now (the gateway's own key is held to its
		// entries separately).
		if rd.Via == nil || rd.Via.Gateway != k.ke.Gateway {
			return rej(ReasonWrongGateway, fmt.Sprintf("seq %d: meter %s is now signed by gateway %q", rd.Seq, rd.Meter, k.ke.Gateway))
		}
		return nil
	case k.verifier == nil:
		return rej(ReasonBadSignature, fmt.Sprintf("seq %d: the registered key does not parse", rd.Seq))
	}
	if _, err := note.Open(it.raw, note.VerifierList(k.verifier)); err != nil {
		return rej(ReasonBadSignature, fmt.Sprintf("seq %d: not signed with the key registered before it: %v", rd.Seq, err))
	}
	return nil
}

// recheckKeys holds a reading to the latest key entries of its meter and,
// if gateway-signed, of its gateway (see keyChange).
func (p *Pipeline) recheckKeys(it *item) *rejection.Rejection {
	if len(p.keys) == 0 {
		return nil // no key entry waiting (pruneKeys dropped them all): no key name to make and look up
	}
	if k := p.keys[reading.KeyName(it.rd.Meter)]; k != nil {
		if rej := k.recheck(it); rej != nil {
			return rej
		}
	}
	if it.rd.Via != nil {
		if k := p.keys[reading.GatewayKeyName(it.rd.Via.Gateway)]; k != nil {
			return k.recheck(it)
		}
	}
	return nil
}

func (p *Pipeline) admitBatch(ctx context.Context, items []*item) *pending {
	pd := &pending{batch: &store.Batch{}, items: items}
	b := pd.batch
	states := make(map[uint32]MeterState, len(items)) // tentative states of this batch, by Device.num
	state := func(dev *Device) MeterState {
		if st, ok := states[dev.num]; ok {
			return st
		}
		return p.states.get(dev)
	}
	var toLedger [][]byte
	var appended, dups []*item
	thisBatch := make(map[reading.Hash]*item, len(items))
	for _, it := range items {
		if w := it.verifier - 1; w >= 0 {
			p.lastGen[w] = it.gen
			p.checking[w].Add(-1)
		}
	}
	for _, it := range items {
		if it.result.Reject != nil {
			b.Rejections = append(b.Rejections, *it.result.Reject)
			continue
		}
		if it.entry != nil {
			toLedger = append(toLedger, it.raw)
			appended = append(appended, it)
			continue
		}
		if rej := p.held(it); rej != nil {
			it.result = Result{Reject: rej} // not final: not counted as a refusal
			continue
		}
		if rej := p.recheckKeys(it); rej != nil {
			it.result = Result{Reject: rej}
			b.Rejections = append(b.Rejections, *rej)
			continue
		}
		st := state(it.dev)
		d := Admit(st, it.rd, it.hash, it.received, p.opts.Policy)
		switch d.Verdict {
		case Duplicate:
			if first, ok := thisBatch[it.hash]; ok {
				// Its original is in this very batch and has no index yet.
				it.dupOf = first
				dups = append(dups, it)
				continue
			}
			it.result = Result{Index: d.Index, Duplicate: true}
			continue
		case Stale:
			if first, ok := thisBatch[it.hash]; ok {
				// An exact resubmission of a reading earlier in this batch
				// that is not its meter's latest (later readings of the
				// meter are in the batch too): findCommitted knows only
				// appended readings and would call it a replay.
				it.dupOf = first
				dups = append(dups, it)
				continue
			}
			idx, ok, err := p.findCommitted(ctx, it)
			if err != nil {
				// The store cannot say whether it is a resubmission: not
				// a replay until it can (the device or the bus sends it
				// again).
				it.result = Result{Reject: &rejection.Rejection{Time: it.received, Meter: it.rd.Meter, Reason: ReasonUnavailable, Source: it.source,
					Detail: fmt.Sprintf("seq %d: looking up the earlier reading: %v", it.rd.Seq, err)}}
				continue
			}
			if ok {
				it.result = Result{Index: idx, Duplicate: true}
				continue
			}
			rej := rejection.Rejection{Time: it.received, Meter: it.rd.Meter, Reason: ReasonReplay, Source: it.source,
				Detail: fmt.Sprintf("seq %d is not above the last admitted seq %d", it.rd.Seq, st.Seq)}
			it.result = Result{Reject: &rej}
			b.Rejections = append(b.Rejections, rej)
			continue
		case Refuse:
			rej := rejection.Rejection{Time: it.received, Meter: it.rd.Meter, Reason: d.Reason, Source: it.source,
				Detail: fmt.Sprintf("seq %d: %s", it.rd.Seq, d.Detail)}
			it.result = Result{Reject: &rej}
			b.Rejections = append(b.Rejections, rej)
			continue
		}
		it.flags |= d.Flags
		states[it.dev.num] = st.Advance(it.rd, it.hash, 0)
		thisBatch[it.hash] = it
		toLedger = append(toLedger, it.raw)
		appended = append(appended, it)
	}
	if len(toLedger) > 0 {
		t0 := time.Now()
		idx, err := p.opts.Ledger.Append(ctx, toLedger)
		p.metrics.appendDur.Observe(time.Since(t0).Seconds())
		p.metrics.batch.Observe(float64(len(toLedger)))
		if err == nil && len(idx) != len(toLedger) {
			err = fmt.Errorf("ledger returned %d indices for %d entries", len(idx), len(toLedger))
			idx = nil
		}
		if err != nil {
			p.opts.Logger.Error("ledger append failed", "entries", len(toLedger), "error", err)
			if len(idx) != len(toLedger) {
				idx = nil
			}
		}
		p.inflightMu.Lock()
		for i, it := range appended {
			if idx == nil || idx[i] == ledger.NotSequenced {
				rej := rejection.Rejection{Time: it.received, Reason: ReasonUnavailable, Detail: fmt.Sprintf("ledger: %v", err), Source: it.source}
				if it.rd != nil {
					rej.Meter = it.rd.Meter
				}
				it.result = Result{Reject: &rej}
				it.failed = true
				continue
			}
			it.result = Result{Index: idx[i], Flags: it.flags}
			if idx[i]+1 > b.LedgerSize {
				b.LedgerSize = idx[i] + 1
			}
			if it.entry != nil {
				pd.entries = append(pd.entries, it)
				if ke := it.entry.Key; ke != nil {
					k := &keyChange{ke: ke}
					if ke.Action == reading.ActionRegister {
						k.verifier, _ = p.opts.Directory.verifier(ke.Key)
					}
					p.keys[ke.Subject()] = k
					p.unpruned = append(p.unpruned, k)
					it.change = k
				}
				continue
			}
			// The meter's state advances by what actually reached the
			// ledger (the batch's tentative states are dropped).
			p.states.set(it.dev, MeterState{}.Advance(it.rd, it.hash, idx[i]))
			p.inflight[it.hash] = idx[i]
			b.Readings = append(b.Readings, StoreReading(it.rd, it.hash, idx[i], it.flags, it.received))
			pd.extra.Enterprise = append(pd.extra.Enterprise, it.dev.Enterprise)
			pd.extra.Raw = append(pd.extra.Raw, it.raw)
		}
		p.inflightMu.Unlock()
	}
	for _, it := range dups {
		if r := it.dupOf.result; r.Reject != nil {
			it.result = r
		} else {
			it.result = Result{Index: r.Index, Duplicate: true}
		}
	}
	p.updateHolds(items)
	p.pruneKeys()
	return pd
}

// pruneKeys drops the key entries no reading still to be admitted needs
// to be held to. keys would otherwise keep every meter registered since
// the start — a province's half a million entries, each with its strings
// and verifier, for the collector to mark and for every reading to look
// up — while an entry matters only to readings whose signature was
// checked before the directory held its effect. Once the commit stage has
// applied the entry (and every entry before it: the directory changes in
// ledger order) and the directory is then seen to hold its effect at
// generation g, a reading checked from then on was checked as recheck
// would check it again; one checked before is, at the latest, the next
// reading from its verifier that the sequencer has not admitted yet. So
// an entry goes when every verifier either has no reading waiting (any it
// takes next is checked at a generation of g or later: it is counted
// before the generation is read) or last passed the sequencer one checked
// at g or later (its readings come in order). An entry not applied, or
// whose effect the directory does not hold, stays, as before.
func (p *Pipeline) pruneKeys() {
	if len(p.unpruned) == 0 {
		return
	}
	for _, k := range p.unpruned {
		if !k.seen && k.applied.Load() {
			k.seen, k.gen = p.opts.Directory.reflects(k.ke)
		}
	}
	safe := uint64(math.MaxUint64) // checked at this generation or later: every reading still to come
	for w := range p.checking {
		if p.checking[w].Load() > 0 {
			safe = min(safe, p.lastGen[w])
		}
	}
	left := p.unpruned[:0]
	for _, k := range p.unpruned {
		subject := k.ke.Subject()
		switch {
		case p.keys[subject] != k:
			// A later entry of the same meter or gateway took its place.
		case k.seen && k.gen <= safe:
			delete(p.keys, subject)
		default:
			left = append(left, k)
		}
	}
	clear(p.unpruned[len(left):])
	p.unpruned = left
}

// hold is a meter waiting for its readings that failed to reach the
// ledger to come again (see Options.Hold).
type hold struct {
	next  uint64 // the lowest seq without its final outcome: readings above it wait
	max   uint64 // the highest seq answered unavailable
	until time.Time
}

// held refuses, as unavailable, a reading whose meter waits for an earlier
// seq. Admitting it would move the meter's chain past the failed reading,
// which would then be refused as a replay when it comes again — in bus mode
// after the stream had acknowledged it to the device. A reading it lets
// through gets its outcome in this batch, so the meter then waits for the
// one after it.
func (p *Pipeline) held(it *item) *rejection.Rejection {
	if !it.comesAgain() {
		return nil
	}
	m := it.rd.Meter
	h, ok := p.holds[m]
	if !ok {
		return nil
	}
	if time.Now().After(h.until) {
		p.opts.Logger.Warn("readings that failed to reach the ledger did not come again; admitting the meter's later readings",
			"meter", m, "seq", h.next)
		delete(p.holds, m)
		return nil
	}
	if it.rd.Seq <= h.next {
		h.next = max(h.next, it.rd.Seq+1)
		p.holds[m] = h
		return nil
	}
	h.max = max(h.max, it.rd.Seq)
	p.holds[m] = h
	p.metrics.held.Inc()
	return &rejection.Rejection{Time: it.received, Meter: m, Reason: ReasonUnavailable, Source: it.source,
		Detail: fmt.Sprintf("seq %d waits for seq %d, which did not reach the ledger: send both again", it.rd.Seq, h.next)}
}

// comesAgain reports whether a reading answered unavailable will be sent
// again as the same bytes: always from the bus, and from a device (MQTT,
// HTTP) that signs its own readings. A gateway signs a new reading, with
// the next seq, for the frame its device sends again: holding its meter
// would only refuse those.
func (it *item) comesAgain() bool { return it.fromBus || it.rd.Via == nil }

// updateHolds puts a meter on hold from its first reading the ledger did
// not sequence, and releases meters whose readings answered unavailable
// all have their final outcome now.
func (p *Pipeline) updateHolds(items []*item) {
	for _, it := range items {
		if !it.failed || !it.comesAgain() {
			continue
		}
		m := it.rd.Meter
		h, ok := p.holds[m]
		if !ok || it.rd.Seq < h.next {
			h.next = it.rd.Seq
		}
		h.max = max(h.max, it.rd.Seq)
		h.until = time.Now().Add(p.opts.Hold)
		p.holds[m] = h
	}
	for m, h := range p.holds {
		if h.next > h.max {
			delete(p.holds, m)
		}
	}
}

// StoreReading converts an admitted reading to its stored form.
func StoreReading(rd *reading.Reading, h reading.Hash, index uint64, flags store.Flags, received time.Time) store.Reading {
	vals := make([]store.Value, len(rd.Values))
	for i, v := range rd.Values {
		vals[i] = store.Value{Channel: v.Channel, Value: v.Value}
	}
	return store.Reading{Meter: rd.Meter, Seq: rd.Seq, Time: rd.Time.Truncate(time.Millisecond),
		Received: received.Truncate(time.Millisecond), Index: index, Hash: h, Flags: flags, Values: vals}
}

// findCommitted resolves a stale reading: an exact resubmission of a reading
// already in the ledger answers with its index. err is a store that could
// not answer.
func (p *Pipeline) findCommitted(ctx context.Context, it *item) (uint64, bool, error) {
	p.inflightMu.Lock()
	idx, ok := p.inflight[it.hash]
	p.inflightMu.Unlock()
	if ok {
		return idx, true, nil
	}
	r, err := p.opts.Store.ReadingBySeq(ctx, it.rd.Meter, it.rd.Seq)
	if errors.Is(err, store.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		p.opts.Logger.Error("look-up of an older reading failed", "meter", it.rd.Meter, "seq", it.rd.Seq, "error", err)
		return 0, false, err
	}
	return r.Index, r.Hash == it.hash, nil
}

// commit applies each batch's key entries and writes its readings to the
// store, then answers its submitters.
func (p *Pipeline) commit(ctx context.Context) {
	defer p.wg.Done()
	for pd := range p.commits {
		b := pd.batch
		all := b.Readings // setAside may leave fewer in b.Readings
		// The entries are already in the ledger, so the batch must reach the
		// store before anyone is answered: a transient failure is retried
		// until it passes, while the queue fills and publishers are held
		// back. What the store refuses for good is set aside (quarantined)
		// and the rest goes on.
		t0 := time.Now()
		if err := p.retry("store commit", func() error { return p.applyAndCommit(ctx, pd) }); err != nil {
			p.setAside(ctx, pd, err)
		} else {
			for _, it := range pd.entries {
				if it.change != nil {
					it.change.applied.Store(true)
				}
			}
		}
		p.metrics.commitDur.Observe(time.Since(t0).Seconds())
		p.metrics.quarantined.Add(float64(len(pd.extra.Quarantined)))
		p.inflightMu.Lock()
		for _, r := range all {
			delete(p.inflight, r.Hash)
		}
		p.inflightMu.Unlock()
		p.metrics.admitted.Add(float64(len(b.Readings)))
		for _, rj := range b.Rejections {
			p.metrics.rejected.WithLabelValues(rj.Reason).Inc()
		}
		for _, it := range pd.items {
			if it.result.Duplicate {
				p.metrics.duplicates.Inc()
			}
		}
		t1 := time.Now()
		if p.opts.OnCommitted != nil && (len(b.Readings) > 0 || len(b.Rejections) > 0 || len(pd.extra.Quarantined) > 0) {
			c := pd.extra
			c.Readings, c.Rejections = b.Readings, b.Rejections
			p.opts.OnCommitted(&c)
		}
		for _, it := range pd.items {
			if it.rd != nil {
				it.result.Seq = it.rd.Seq
			}
			it.done(it.result)
			p.metrics.latency.Observe(time.Since(it.received).Seconds())
		}
		p.metrics.answer.Observe(time.Since(t1).Seconds())
	}
}

func (p *Pipeline) applyAndCommit(ctx context.Context, pd *pending) error {
	for i := 0; i < len(pd.entries); i++ {
		it := pd.entries[i]
		if g := it.entry.Group; g != nil {
			var members []int
			var indices []uint64
			for ; i < len(pd.entries) && pd.entries[i].entry.Group == g; i++ {
				members, indices = append(members, pd.entries[i].entry.Member), append(indices, pd.entries[i].result.Index)
			}
			i--
			if err := g.Apply(ctx, members, indices); err != nil {
				return fmt.Errorf("apply ledger entries %d–%d: %w", indices[0], indices[len(indices)-1], err)
			}
			continue
		}
		if it.entry.Apply == nil {
			continue
		}
		if err := it.entry.Apply(ctx, it.result.Index); err != nil {
			return fmt.Errorf("apply ledger entry %d: %w", it.result.Index, err)
		}
	}
	b := pd.batch
	if len(b.Readings) == 0 && len(b.Rejections) == 0 && b.LedgerSize == 0 {
		return nil
	}
	return p.opts.Store.Commit(ctx, b)
}
