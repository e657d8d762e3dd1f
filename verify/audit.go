package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"
	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/certificate"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/sigcheck"
)

// ProblemKind classifies an audit failure. Every problem is evidence of
// tampering or of a platform fault; gaps in a meter's chain are not
// problems (see Gap).
type ProblemKind string

// Problem kinds.
const (
	ProblemRoot         ProblemKind = "root-mismatch"   // entries do not hash to the checkpoint's root
	ProblemTile         ProblemKind = "tile-mismatch"   // a served hash tile differs from the one the entries imply
	ProblemBundle       ProblemKind = "bad-bundle"      // an entry bundle is missing, short or unparsable
	ProblemSignature    ProblemKind = "bad-signature"   // an entry's signature does not verify
	ProblemUnknownMeter ProblemKind = "unknown-meter"   // a reading from a meter with no registered key at that point of the log
	ProblemRevokedMeter ProblemKind = "revoked-meter"   // a reading from a meter whose key was revoked earlier in the log
	ProblemDuplicate    ProblemKind = "duplicate"       // a second reading with the same (meter, seq)
	ProblemMalformed    ProblemKind = "malformed"       // an entry that does not parse
	ProblemUnknownEntry ProblemKind = "unknown-entry"   // an entry of none of the kinds: reading, key, point, command or certificate entry
	ProblemKeyEntry     ProblemKind = "bad-key-entry"   // a key entry that contradicts the key directory
	ProblemPointEntry   ProblemKind = "bad-point-entry" // a point entry that does not make a valid metering point
	ProblemGateway      ProblemKind = "bad-gateway"     // a gateway-signed reading of a meter that gateway does not sign for, or by an unknown or revoked gateway
	ProblemFrame        ProblemKind = "bad-frame"       // a gateway-signed reading whose raw frame is missing from the archive or differs (CheckFrames)
)

// Problem is one audit failure. Index is the entry's log index (or, for a
// tile or bundle, the first index it covers); Meter and Seq are set for
// readings.
type Problem struct {
	Kind   ProblemKind `json:"kind"`
	Index  uint64      `json:"index"`
	Meter  string      `json:"meter,omitempty"`
	Seq    uint64      `json:"seq,omitempty"`
	Detail string      `json:"detail"`
}

// Gap is a break in a meter's prev chain: the reading (Meter, Seq) at Index
// does not quote the hash of the meter's previous reading in the log. The
// platform admits such readings and flags them (a meter may lose readings),
// so a gap is listed as a warning, not as tampering: a reading deleted after
// it was logged breaks the root instead.
type Gap struct {
	Meter     string `json:"meter"`
	Seq       uint64 `json:"seq"`
	Index     uint64 `json:"index"`
	HasPrev   bool   `json:"has_prev"`           // whether the meter has an earlier reading in the log
	PrevSeq   uint64 `json:"prev_seq,omitempty"` // the meter's previous reading in seq order
	PrevIndex uint64 `json:"prev_index,omitempty"`
	Missing   uint64 `json:"missing"` // seq numbers skipped between PrevSeq and Seq
	Reason    string `json:"reason"`
}

// AuditOptions configure Audit.
type AuditOptions struct {
	LogKey     note.Verifier // required
	Policy     *Policy       // if set, the checkpoint must meet its quorum
	Workers    int           // signature-checking goroutines; default GOMAXPROCS
	Fetches    int           // resources fetched ahead in parallel; default 8
	SkipTiles  bool          // skip re-deriving and comparing the hash tiles
	MaxListed  int           // problems and gaps kept in the report; default 1000 each (all are counted)
	Now        time.Time     // for cosignature timestamps; zero means time.Now()
	Progress   func(done, total uint64)
	Checkpoint []byte // audit against this checkpoint instead of the log's latest
	// CollectFrames lists gateway-signed readings in the report (Framed).
	CollectFrames bool
	// KeyTables bounds the meter and gateway keys given a precomputed
	// table for their signature checks (sigcheck; about 43 KB each);
	// default 4096. Keys beyond it are checked correctly, only slower.
	KeyTables int
	// Audited, if set, is the checkpoint of an earlier audit of this log
	// that passed (`verify log --save`). The signatures of the readings
	// below its size were checked then and are not checked again; the
	// audit still reads and hashes every entry, and requires the first
	// entries to hash to that checkpoint's root, which proves they are the
	// entries audited before. Everything else is checked as usual.
	Audited []byte

	// observer, if set, sees the log-key entries and readings in log order
	// (Balance recomputes an enterprise's balance from them).
	observer observer
	// noteVerifiers checks readings with note's own Ed25519 verifiers
	// (crypto/ed25519) instead of sigcheck's: same verdicts, for the
	// benchmarks' before-and-after in one run.
	noteVerifiers bool
	// rootAt, if not zero, asks for the root hash of the tree of the first
	// rootAt entries (auditor.rootAtHash): the checkpoint a statement names
	// (Savings).
	rootAt uint64
}

// observer is told, in log order, of every key entry, valid point entry and
// reading from a registered meter, as the audit reads them. Signatures of
// readings are checked later, by workers: a reading whose signature fails
// is among the audit's problems (auditor.badIndex).
type observer interface {
	keyEntry(index uint64, k *reading.KeyEntry)
	pointEntry(index uint64, p meter.Point)
	reading(index uint64, r *reading.Reading)
}

// AuditReport is the outcome of Audit.
type AuditReport struct {
	Checkpoint   *Checkpoint
	Entries      uint64
	Readings     uint64
	KeyEntries   uint64
	PointEntries uint64 // metering-point registrations (reading.PointEntry)
	// AuditedSize is the size of the AuditOptions.Audited checkpoint (0
	// without one); SignaturesTrusted counts the readings below it whose
	// signatures that earlier audit checked.
	AuditedSize       uint64
	SignaturesTrusted uint64

	Meters       int // meters with at least one reading
	Registered   int // meters with an active key at the end of the log
	Revoked      int // meters whose key is revoked at the end of the log
	TilesChecked uint64
	Problems     []Problem // sorted by index; at most MaxListed (the earliest found)
	ProblemCount uint64
	Gaps         []Gap // sorted by meter and seq; at most MaxListed
	GapCount     uint64
	Elapsed      time.Duration
	// CommandEntries counts actuator-command entries (reading.CommandEntry);
	// Commands lists the earliest MaxListed of them and CommandStats sums
	// them per actuator output (see command.go).
	CommandEntries uint64
	Commands       []Command
	CommandStats   []CommandStat
	// MeterSigned and GatewaySigned count readings by trust level;
	// Gateways sums the gateway-signed ones per gateway that signed them.
	MeterSigned   uint64
	GatewaySigned uint64
	Gateways      []GatewayStat
	// Framed lists every gateway-signed reading with the frame it quotes,
	// when AuditOptions.CollectFrames (for CheckFrames).
	Framed []FramedReading
	// CertificateEntries counts water-rights certificate entries
	// (certificate.Entry); Certificates sums their fold (certificates.go).
	CertificateEntries uint64
	Certificates       CertificateSummary
}

// GatewayStat is what the log holds of one gateway.
type GatewayStat struct {
	Gateway  string `json:"gateway"`
	Readings uint64 `json:"readings"`
	Meters   int    `json:"meters"`
	Revoked  bool   `json:"revoked"` // at the end of the log
}

// FramedReading is a gateway-signed reading and the raw frame it quotes.
type FramedReading struct {
	Index    uint64       `json:"index"`
	Meter    string       `json:"meter"`
	Seq      uint64       `json:"seq"`
	Hash     reading.Hash `json:"-"`
	Gateway  string       `json:"gateway"`
	Protocol string       `json:"protocol"`
	Device   string       `json:"device"`
	Frame    reading.Hash `json:"-"`
}

// Failed reports the audit's verdict: any problem fails it; gaps fail it
// only when strict.
func (r *AuditReport) Failed(strict bool) bool {
	return r.ProblemCount > 0 || (strict && r.GapCount > 0)
}

// Audit checks a whole log: it re-derives the Merkle root (and, unless
// SkipTiles, every hash tile) from the entry bundles and compares it with
// the signed checkpoint; replays key entries in log order to rebuild the
// meter-key directory, checking each against the log key; checks each
// point entry's signature (the log key) and that it makes a valid point; checks every
// reading's signature with the key its meter had at that point of the log;
// and checks (meter, seq) uniqueness and each meter's prev chain in seq
// order. It returns an error only when the audit cannot be carried out
// (unreadable or unsigned checkpoint, unreachable log); everything it finds
// wrong with the log is in the report.
func Audit(ctx context.Context, f Fetcher, opts AuditOptions) (*AuditReport, error) {
	a, err := audit(ctx, f, opts)
	if err != nil {
		return nil, err
	}
	return a.report, nil
}

// audit runs an audit and returns the auditor, whose state after the run
// (the readings whose signatures failed) Balance needs too.
func audit(ctx context.Context, f Fetcher, opts AuditOptions) (*auditor, error) {
	start := time.Now()
	if opts.LogKey == nil {
		return nil, errors.New("audit: no log key")
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.Fetches <= 0 {
		opts.Fetches = 8
	}
	if opts.KeyTables <= 0 {
		opts.KeyTables = 4096
	}
	if opts.MaxListed <= 0 {
		opts.MaxListed = 1000
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	raw := opts.Checkpoint
	if raw == nil {
		var err error
		if raw, err = f.ReadCheckpoint(ctx); err != nil {
			return nil, fmt.Errorf("audit: read checkpoint: %w", err)
		}
	}
	cp, err := OpenCheckpoint(raw, opts.LogKey, opts.Policy, opts.Now)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	a := newAuditor(f, cp, opts)
	if opts.Audited != nil {
		acp, err := OpenCheckpoint(opts.Audited, opts.LogKey, nil, opts.Now)
		if err != nil {
			return nil, fmt.Errorf("audit: audited checkpoint: %w", err)
		}
		if acp.Size > cp.Size {
			return nil, fmt.Errorf("audit: the log's checkpoint (size %d) is older than the audited one (size %d): a rollback", cp.Size, acp.Size)
		}
		a.audited = acp
		a.report.AuditedSize = acp.Size
	}
	if err := a.run(ctx); err != nil {
		return nil, err
	}
	a.report.Elapsed = time.Since(start)
	return a, nil
}

// meterKey is a meter's or a gateway's entry in the key directory. A meter
// signed by a gateway has that gateway and no verifiers of its own.
type meterKey struct {
	verifiers note.Verifiers
	gateway   string
	revoked   bool
}

// gatewayUse counts one gateway's readings.
type gatewayUse struct {
	readings uint64
	meters   map[string]bool
}

// chainRecord is what the chain check keeps of each reading (80 bytes).
type chainRecord struct {
	seq, index uint64
	hash, prev reading.Hash
}

// sigJob is one reading whose signature a worker checks.
type sigJob struct {
	index     uint64
	entry     []byte
	verifiers note.Verifiers
	meter     string
	seq       uint64
}

type tileJob struct {
	level, index uint64
	partial      uint8
	content      []byte
}

type auditor struct {
	f      Fetcher
	cp     *Checkpoint
	opts   AuditOptions
	report *AuditReport

	tree       *compact.Range
	leafHash   hash.Hash
	tilesOK    bool // false once the entries no longer line up with the tree
	pending    map[compact.NodeID][]byte
	tileJobs   chan tileJob
	tileWG     sync.WaitGroup
	audited    *Checkpoint // an earlier audit's checkpoint (AuditOptions.Audited)
	rootAtHash []byte      // the root of the first opts.rootAt entries, once read
	directory  map[string]*meterKey
	gateways   map[string]*meterKey
	tables     *sigcheck.Tables // the budget of key tables (KeyTables)
	gwUse      map[string]*gatewayUse
	chains     map[string][]chainRecord
	commands   commandState
	rights     certificate.State // the fold of the certificate entries (certificates.go)
	sigJobs    chan []sigJob
	sigWG      sync.WaitGroup

	mu       sync.Mutex // guards problems and badIndex (written by workers)
	problems []Problem
	badIndex map[uint64]bool
}

func newAuditor(f Fetcher, cp *Checkpoint, opts AuditOptions) *auditor {
	return &auditor{
		f: f, cp: cp, opts: opts,
		report:    &AuditReport{Checkpoint: cp},
		tree:      (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0),
		leafHash:  sha256.New(),
		tilesOK:   !opts.SkipTiles,
		pending:   map[compact.NodeID][]byte{},
		directory: map[string]*meterKey{},
		gateways:  map[string]*meterKey{},
		tables:    sigcheck.NewTables(opts.KeyTables),
		gwUse:     map[string]*gatewayUse{},
		chains:    map[string][]chainRecord{},
		badIndex:  map[uint64]bool{},
	}
}

func (a *auditor) problem(p Problem) {
	a.mu.Lock()
	a.report.ProblemCount++
	// Keep a few more than listed: workers report slightly out of order and
	// the listed ones are the earliest by index.
	if len(a.problems) < 4*a.opts.MaxListed {
		a.problems = append(a.problems, p)
	}
	if p.Kind == ProblemSignature {
		a.badIndex[p.Index] = true
	}
	a.mu.Unlock()
}

func (a *auditor) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.sigJobs = make(chan []sigJob, 2*a.opts.Workers)
	for range a.opts.Workers {
		a.sigWG.Add(1)
		go a.signatureWorker()
	}
	a.tileJobs = make(chan tileJob, a.opts.Fetches)
	for range a.opts.Fetches {
		a.tileWG.Add(1)
		go a.tileWorker(ctx)
	}
	err := a.readBundles(ctx)
	close(a.sigJobs)
	if err == nil && a.tilesOK {
		a.flushPartialTiles()
	}
	close(a.tileJobs)
	a.sigWG.Wait()
	a.tileWG.Wait()
	if err != nil {
		return err
	}
	a.checkRoot()
	a.checkChains()
	a.finishCommands()
	a.finishReport()
	return nil
}

type fetchedBundle struct {
	ri   layout.RangeInfo
	data []byte
	err  error
}

// readBundles streams the entry bundles in order, fetching ahead in parallel.
func (a *auditor) readBundles(ctx context.Context) error {
	size := a.cp.Size
	queue := make(chan chan fetchedBundle, a.opts.Fetches)
	go func() {
		defer close(queue)
		sem := make(chan struct{}, a.opts.Fetches)
		for ri := range layout.Range(0, size, size) {
			c := make(chan fetchedBundle, 1)
			select {
			case queue <- c:
			case <-ctx.Done():
				return
			}
			sem <- struct{}{}
			go func() {
				data, err := a.f.ReadEntryBundle(ctx, ri.Index, ri.Partial)
				c <- fetchedBundle{ri: ri, data: data, err: err}
				<-sem
			}()
		}
	}()
	var done uint64
	for c := range queue {
		b := <-c
		if err := ctx.Err(); err != nil {
			return err
		}
		first := b.ri.Index * layout.EntryBundleWidth
		switch {
		case errors.Is(b.err, fs.ErrNotExist):
			a.problem(Problem{Kind: ProblemBundle, Index: first, Detail: fmt.Sprintf("entry bundle %d is missing", b.ri.Index)})
			a.tilesOK = false
			continue
		case b.err != nil:
			return fmt.Errorf("audit: read entry bundle %d: %w", b.ri.Index, b.err)
		}
		entries, err := parseBundle(b.data)
		if err != nil {
			a.problem(Problem{Kind: ProblemBundle, Index: first, Detail: fmt.Sprintf("entry bundle %d: %v", b.ri.Index, err)})
			a.tilesOK = false
			continue
		}
		want := int(b.ri.First + b.ri.N)
		if len(entries) < want {
			a.problem(Problem{Kind: ProblemBundle, Index: first, Detail: fmt.Sprintf("entry bundle %d has %d entries, the checkpoint implies %d", b.ri.Index, len(entries), want)})
			a.tilesOK = false
			want = len(entries)
		}
		jobs := make([]sigJob, 0, want)
		for i := int(b.ri.First); i < want; i++ {
			jobs = a.entry(first+uint64(i), entries[i], jobs)
		}
		if len(jobs) > 0 {
			a.sigJobs <- jobs
		}
		done += uint64(want - int(b.ri.First))
		if a.opts.Progress != nil {
			a.opts.Progress(done, size)
		}
	}
	return ctx.Err()
}

// entry processes one entry in log order and returns jobs extended with its
// signature check, if it is a reading.
func (a *auditor) entry(index uint64, e []byte, jobs []sigJob) []sigJob {
	a.report.Entries++
	a.leafHash.Reset()
	a.leafHash.Write([]byte{0})
	a.leafHash.Write(e)
	lh := a.leafHash.Sum(make([]byte, 0, sha256.Size))
	var visit compact.VisitFn
	if a.tilesOK {
		visit = a.visit
	}
	if err := a.tree.Append(lh, visit); err != nil {
		a.problem(Problem{Kind: ProblemRoot, Index: index, Detail: err.Error()})
	}
	if a.opts.rootAt > 0 && a.tree.End() == a.opts.rootAt {
		a.rootAtHash, _ = a.tree.GetRootHash(nil)
	}
	if a.audited != nil && a.tree.End() == a.audited.Size {
		if root, err := a.tree.GetRootHash(nil); err != nil || !bytes.Equal(root, a.audited.Root[:]) {
			a.problem(Problem{Kind: ProblemRoot, Index: index, Detail: fmt.Sprintf(
				"the first %d entries hash to root %x, not to the root %x of the audited checkpoint: they are not the entries audited before", a.audited.Size, root, a.audited.Root)})
		}
	}
	switch reading.Kind(e) {
	case reading.Header:
		a.report.Readings++
		r, err := reading.Parse(e)
		if err != nil {
			a.problem(Problem{Kind: ProblemMalformed, Index: index, Detail: err.Error()})
			return jobs
		}
		k := a.directory[r.Meter]
		switch {
		case k == nil:
			a.problem(Problem{Kind: ProblemUnknownMeter, Index: index, Meter: r.Meter, Seq: r.Seq, Detail: "no key registered for this meter before this entry"})
			return jobs
		case k.revoked:
			a.problem(Problem{Kind: ProblemRevokedMeter, Index: index, Meter: r.Meter, Seq: r.Seq, Detail: "the meter's key was revoked before this entry"})
			return jobs
		}
		verifiers := k.verifiers
		if r.Via != nil || k.gateway != "" {
			if verifiers = a.gatewaySigner(index, r, k); verifiers == nil {
				return jobs
			}
		} else {
			a.report.MeterSigned++
		}
		a.chains[r.Meter] = append(a.chains[r.Meter], chainRecord{seq: r.Seq, index: index, hash: reading.HashOf(e), prev: r.Prev})
		if a.opts.observer != nil {
			a.opts.observer.reading(index, r)
		}
		if a.audited != nil && index < a.audited.Size {
			a.report.SignaturesTrusted++
			return jobs // checked by the earlier audit; the prefix root proves the bytes
		}
		return append(jobs, sigJob{index: index, entry: e, verifiers: verifiers, meter: r.Meter, seq: r.Seq})
	case reading.KeyHeader:
		a.report.KeyEntries++
		a.keyEntry(index, e)
	case reading.CommandHeader:
		a.commandEntry(index, e)
	case reading.PointHeader:
		a.report.PointEntries++
		a.pointEntry(index, e)
	case reading.RightHeader: // water-rights certificates (certificates.go)
		a.certificateEntry(index, e)
	default:
		a.problem(Problem{Kind: ProblemUnknownEntry, Index: index, Detail: fmt.Sprintf("entry starts with %.40q", firstLine(e))})
	}
	return jobs
}

// gatewaySigner returns the verifiers of the gateway that must have signed
// r — the one its meter k is registered with, registered and unrevoked at
// this point of the log — and counts the reading; nil after reporting why
// there is none.
func (a *auditor) gatewaySigner(index uint64, r *reading.Reading, k *meterKey) note.Verifiers {
	bad := func(detail string) note.Verifiers {
		a.problem(Problem{Kind: ProblemGateway, Index: index, Meter: r.Meter, Seq: r.Seq, Detail: detail})
		return nil
	}
	switch {
	case r.Via == nil:
		return bad("meter is signed by gateway " + k.gateway + ", but the reading names no gateway")
	case k.gateway == "":
		return bad("meter signs its own readings, but gateway " + r.Via.Gateway + " signed this one")
	case k.gateway != r.Via.Gateway:
		return bad("meter is signed by gateway " + k.gateway + ", not " + r.Via.Gateway)
	}
	g := a.gateways[r.Via.Gateway]
	switch {
	case g == nil:
		return bad("no key registered for gateway " + r.Via.Gateway + " before this entry")
	case g.revoked:
		return bad("the key of gateway " + r.Via.Gateway + " was revoked before this entry")
	}
	a.report.GatewaySigned++
	u := a.gwUse[r.Via.Gateway]
	if u == nil {
		u = &gatewayUse{meters: map[string]bool{}}
		a.gwUse[r.Via.Gateway] = u
	}
	u.readings++
	u.meters[r.Meter] = true
	if a.opts.CollectFrames {
		a.report.Framed = append(a.report.Framed, FramedReading{Index: index, Meter: r.Meter, Seq: r.Seq,
			Gateway: r.Via.Gateway, Protocol: r.Via.Protocol, Device: r.Via.Device, Frame: r.Via.Frame})
	}
	return g.verifiers
}

// keyEntry applies a key entry to the directory; key entries are rare, so
// their signature (by the log key) is checked here, in log order.
func (a *auditor) keyEntry(index uint64, e []byte) {
	k, ok := logKeyEntry(a, index, e, "key entry", reading.ParseKeyEntry)
	if !ok {
		return
	}
	if a.opts.observer != nil {
		a.opts.observer.keyEntry(index, k)
	}
	dir, id := a.directory, k.Meter
	if k.IsGateway() {
		dir, id = a.gateways, k.Gateway
	}
	cur := dir[id]
	switch k.Action {
	case reading.ActionRegister:
		if k.Gateway != "" && !k.IsGateway() {
			a.directory[k.Meter] = &meterKey{gateway: k.Gateway}
			return
		}
		v, err := a.keyVerifier(k.Key)
		if err != nil { // Validate in ParseKeyEntry already checked it
			a.problem(Problem{Kind: ProblemKeyEntry, Index: index, Meter: k.Meter, Detail: err.Error()})
			return
		}
		// A registration replaces the meter's key (rotation, or a new meter
		// after revocation) from this point of the log on.
		dir[id] = &meterKey{verifiers: note.VerifierList(v)}
		a.checkCollector(index, k)
	case reading.ActionRevoke:
		if cur == nil || cur.revoked {
			a.problem(Problem{Kind: ProblemKeyEntry, Index: index, Meter: k.Meter, Detail: "revocation of " + k.Subject() + ", which has no active key"})
			return
		}
		cur.revoked = true
	}
}

// checkCollector reports a meter registration naming a data collector
// that is not a gateway registered, and unrevoked, before it in the log:
// the platform registers a meter only behind such a collector. The meter's
// own key still checks its readings, which the collector only forwards.
func (a *auditor) checkCollector(index uint64, k *reading.KeyEntry) {
	if k.Collector == "" {
		return
	}
	switch g := a.gateways[k.Collector]; {
	case g == nil:
		a.problem(Problem{Kind: ProblemKeyEntry, Index: index, Meter: k.Meter, Detail: "collector " + k.Collector + " has no key registered before this entry"})
	case g.revoked:
		a.problem(Problem{Kind: ProblemKeyEntry, Index: index, Meter: k.Meter, Detail: "the key of collector " + k.Collector + " was revoked before this entry"})
	}
}

// keyVerifier returns the verifier of a meter's or gateway's key: sigcheck's,
// which the signature workers share, so that a key signing many readings
// gets its table.
func (a *auditor) keyVerifier(vkey string) (note.Verifier, error) {
	if a.opts.noteVerifiers {
		return note.NewVerifier(vkey)
	}
	return sigcheck.NewNoteVerifier(vkey, a.tables)
}

// pointEntry checks a point entry (signed by the log key, in log order):
// its signature, its format, and that it makes a valid metering point.
func (a *auditor) pointEntry(index uint64, e []byte) {
	pe, ok := logKeyEntry(a, index, e, "point entry", reading.ParsePointEntry)
	if !ok {
		return
	}
	p, err := meter.PointOf(pe)
	if err != nil {
		a.problem(Problem{Kind: ProblemPointEntry, Index: index, Detail: err.Error()})
		return
	}
	if a.opts.observer != nil {
		a.opts.observer.pointEntry(index, p)
	}
}

// logKeyEntry checks the signature (by the log key) of an entry the
// platform signs and parses it, reporting a problem if either fails.
func logKeyEntry[T any](a *auditor, index uint64, e []byte, what string, parse func([]byte) (T, error)) (T, bool) {
	var zero T
	text, err := openEntry(e, a.opts.LogKey)
	if err != nil {
		a.problem(Problem{Kind: ProblemSignature, Index: index, Detail: what + ": " + err.Error()})
		return zero, false
	}
	v, err := parse(text)
	if err != nil {
		a.problem(Problem{Kind: ProblemMalformed, Index: index, Detail: err.Error()})
		return zero, false
	}
	return v, true
}

func (a *auditor) signatureWorker() {
	defer a.sigWG.Done()
	for jobs := range a.sigJobs {
		for _, j := range jobs {
			n, err := note.Open(j.entry, j.verifiers)
			switch {
			case err != nil:
				var unverified *note.UnverifiedNoteError
				if errors.As(err, &unverified) {
					err = errors.New("not signed by the meter's registered key")
				}
			case bytes.Index(j.entry, []byte("\n\n"))+1 != len(n.Text):
				err = errors.New("blank line inside the signed text")
			default:
				err = canonicalSignatures(n)
			}
			if err != nil {
				a.problem(Problem{Kind: ProblemSignature, Index: j.index, Meter: j.meter, Seq: j.seq, Detail: err.Error()})
			}
		}
	}
}

// visit collects the tree nodes that hash tiles store (levels 0, 8, 16, …)
// and queues each tile for comparison once it is full.
func (a *auditor) visit(id compact.NodeID, h []byte) {
	if id.Level%layout.TileHeight != 0 {
		return
	}
	key := compact.NodeID{Level: id.Level / layout.TileHeight, Index: id.Index / layout.TileWidth}
	t := append(a.pending[key], h...)
	if len(t) == layout.TileWidth*sha256.Size {
		delete(a.pending, key)
		a.tileJobs <- tileJob{level: uint64(key.Level), index: key.Index, content: t}
		return
	}
	a.pending[key] = t
}

func (a *auditor) flushPartialTiles() {
	for key, t := range a.pending {
		a.tileJobs <- tileJob{level: uint64(key.Level), index: key.Index, partial: uint8(len(t) / sha256.Size), content: t}
	}
	a.pending = nil
}

func (a *auditor) tileWorker(ctx context.Context) {
	defer a.tileWG.Done()
	for j := range a.tileJobs {
		first := j.index * layout.TileWidth
		for range j.level {
			first *= layout.TileWidth
		}
		got, err := a.f.ReadTile(ctx, j.level, j.index, j.partial)
		if err == nil && j.partial != 0 && len(got) > len(j.content) {
			got = got[:len(j.content)] // a full tile served for a garbage-collected partial
		}
		a.mu.Lock()
		a.report.TilesChecked++
		a.mu.Unlock()
		path := layout.TilePath(j.level, j.index, j.partial)
		switch {
		case err != nil:
			a.problem(Problem{Kind: ProblemTile, Index: first, Detail: fmt.Sprintf("%s: %v", path, err)})
		case !bytes.Equal(got, j.content):
			a.problem(Problem{Kind: ProblemTile, Index: first, Detail: fmt.Sprintf("%s differs from the tile the entries imply", path)})
		}
	}
}

func (a *auditor) checkRoot() {
	root := rfc6962.DefaultHasher.EmptyRoot()
	if a.tree.End() > 0 {
		root, _ = a.tree.GetRootHash(nil)
	}
	if a.tree.End() != a.cp.Size || !bytes.Equal(root, a.cp.Root[:]) {
		a.problem(Problem{Kind: ProblemRoot, Index: a.cp.Size, Detail: fmt.Sprintf(
			"the %d entries read hash to root %x, but the checkpoint signs size %d with root %x", a.tree.End(), root, a.cp.Size, a.cp.Root)})
	}
}

// checkChains checks (meter, seq) uniqueness and each meter's prev chain in
// seq order. Readings whose signature failed are left out: they are
// problems already, and a forged reading should not hide a real gap.
func (a *auditor) checkChains() {
	for meter, recs := range a.chains {
		sort.Slice(recs, func(i, j int) bool {
			if recs[i].seq != recs[j].seq {
				return recs[i].seq < recs[j].seq
			}
			return recs[i].index < recs[j].index
		})
		var prev *chainRecord
		for i := range recs {
			r := &recs[i]
			if a.badIndex[r.index] {
				continue
			}
			if prev != nil && r.seq == prev.seq {
				detail := fmt.Sprintf("seq %d already logged at index %d with different content", r.seq, prev.index)
				if r.hash == prev.hash {
					detail = fmt.Sprintf("seq %d already logged at index %d (identical bytes: a replay)", r.seq, prev.index)
				}
				a.problem(Problem{Kind: ProblemDuplicate, Index: r.index, Meter: meter, Seq: r.seq, Detail: detail})
				continue
			}
			g := Gap{Meter: meter, Seq: r.seq, Index: r.index}
			switch {
			case prev == nil && !r.prev.IsZero():
				g.Reason = "first reading of the meter in the log quotes a previous reading that is not in the log"
			case prev == nil:
			case r.prev == prev.hash:
			case r.prev.IsZero():
				g.Reason = "the meter restarted its chain (prev -)"
			case r.seq == prev.seq+2:
				g.Reason = fmt.Sprintf("reading seq %d is not in the log", prev.seq+1)
			case r.seq > prev.seq+2:
				g.Reason = fmt.Sprintf("readings seq %d..%d are not in the log", prev.seq+1, r.seq-1)
			default:
				g.Reason = "prev does not match the meter's previous reading"
			}
			if prev != nil {
				g.HasPrev, g.PrevSeq, g.PrevIndex, g.Missing = true, prev.seq, prev.index, r.seq-prev.seq-1
			}
			if g.Reason != "" {
				a.report.GapCount++
				if len(a.report.Gaps) < a.opts.MaxListed {
					a.report.Gaps = append(a.report.Gaps, g)
				}
			}
			prev = r
		}
	}
	sort.Slice(a.report.Gaps, func(i, j int) bool {
		gi, gj := a.report.Gaps[i], a.report.Gaps[j]
		if gi.Meter != gj.Meter {
			return gi.Meter < gj.Meter
		}
		return gi.Seq < gj.Seq
	})
}

func (a *auditor) finishReport() {
	r := a.report
	r.Meters = len(a.chains)
	r.Certificates = a.certificateSummary()
	for id, u := range a.gwUse {
		g := a.gateways[id]
		r.Gateways = append(r.Gateways, GatewayStat{Gateway: id, Readings: u.readings, Meters: len(u.meters), Revoked: g != nil && g.revoked})
	}
	sort.Slice(r.Gateways, func(i, j int) bool { return r.Gateways[i].Gateway < r.Gateways[j].Gateway })
	for _, k := range a.directory {
		if k.revoked {
			r.Revoked++
		} else {
			r.Registered++
		}
	}
	sort.SliceStable(a.problems, func(i, j int) bool { return a.problems[i].Index < a.problems[j].Index })
	r.Problems = a.problems
	if len(r.Problems) > a.opts.MaxListed {
		r.Problems = r.Problems[:a.opts.MaxListed]
	}
}

func firstLine(e []byte) []byte {
	if i := bytes.IndexByte(e, '\n'); i >= 0 {
		return e[:i]
	}
	return e
}
