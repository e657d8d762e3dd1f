// Package rights issues, transfers and retires water-rights certificates
// (package certificate) through the ledger. Each operation is checked
// against the fold of the certificate entries the store holds, signed with
// the log key as a hn-water-right/v1 entry, sequenced through the ingest
// pipeline, and applied to the store in ledger order (Service.Apply) — and
// again, idempotently, when the store catches up with the ledger after a
// crash (Service.ApplyEntry). Operations are serialised by the Service, so
// two requests cannot both pass the check on the same state: a statement's
// allowance or a holding can be spent once. A refused operation writes
// nothing, neither to the ledger nor to the store.
//
// The Service keeps the fold: read from the store once, then advanced by
// each entry it applies, so an operation costs the same however many
// entries the store holds. Every entry must therefore be applied through
// the one Service of the store (catch-up included).
package rights

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/shuixiao/shuixiao/certificate"
	"github.com/shuixiao/shuixiao/contract"
	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/refusal"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

// Errors classifying a refused request that the fold does not classify
// (its own are certificate.Err*); the error's text says why.
var (
	// ErrInvalid: the request itself is malformed.
	ErrInvalid = errors.New("invalid certificate request")
	// ErrNoStatements: this server has no source of M&V statements.
	ErrNoStatements = errors.New("no M&V statements on this server")
)

// StatementRef is an M&V statement (package contract's, sealed by
// internal/mv) as the certificates read it: the statement ID, digest and
// checkpoint an issue entry names, its enterprise, and the figures the
// allowance comes from (certificate.Allowance).
type StatementRef = contract.Statement

// Statements finds M&V statements (the consumer-owned side of helper mv's
// store); an unknown ID is store.ErrNotFound.
type Statements interface {
	Statement(ctx context.Context, id string) (StatementRef, error)
}

// Ledger signs with the log key and tells the ledger's size (*ledger.Log).
type Ledger interface {
	SignNote(text string) ([]byte, error)
	Size(ctx context.Context) (uint64, error)
}

// Sequencer sequences a non-reading ledger entry (*ingest.Pipeline).
type Sequencer interface {
	SubmitEntry(ctx context.Context, e ingest.Entry) (uint64, error)
}

// Store is what the certificates need of the store.
type Store interface {
	store.Certificates
	Enterprise(ctx context.Context, id string) (meter.Enterprise, error)
}

// Service runs the certificate operations. Use one Service per ledger and
// store: it serialises the operations and keeps the fold of the store's
// entries. Store alone suffices to apply entries (catch-up); the
// operations need Ledger and Ingest too.
type Service struct {
	Store      Store
	Statements Statements // nil: nothing can be issued (ErrNoStatements)
	Ledger     Ledger
	Ingest     Sequencer
	Now        func() time.Time
	// NewID makes operation and certificate IDs (default: random hex).
	NewID func(prefix string) string

	mu sync.Mutex // one operation at a time: its check and its append are one step

	foldMu sync.Mutex
	fold   *certificate.State // the fold of the stored entries; nil: not read yet
}

// Issue is a request to issue a statement's saving as a certificate.
type Issue struct {
	Statement string
	// Volume in m³; 0 issues all the statement's allowance not yet issued.
	Volume uint64
	// Certificate and Operation are the IDs to use (empty: made up). A
	// client retrying with the same Operation gets the first answer again
	// (Outcome.Retry) if its request could have made the entry on the
	// ledger, and is refused as a replay otherwise: a retry never issues
	// twice.
	Certificate, Operation string
	Issuer                 string
	// Authorize, if set, may refuse the issue once the statement's
	// enterprise is known (an entry point's tenant rule).
	Authorize func(ctx context.Context, enterprise string) error
}

// Transfer is a request to move volume of a certificate between holders.
type Transfer struct {
	Certificate, From, To string
	Volume                uint64
	Operation             string
	Actor                 string
}

// Retire is a request to retire volume of a certificate from a holding.
type Retire struct {
	Certificate, Holder string
	Volume              uint64
	Purpose             string
	Operation           string
	Actor               string
}

// Outcome is an applied operation with its ledger index, and its
// certificate as it stood once the operation was applied.
type Outcome struct {
	Index uint64
	Entry *certificate.Entry
	// Certificate and StatementIssued (the m³ issued on its statement by
	// then, all certificates) are what the operation left.
	Certificate     certificate.Certificate
	StatementIssued uint64
	// Retry: the operation was on the ledger already, and this is its
	// first answer again (the request repeated it).
	Retry bool
}

func invalid(format string, a ...any) error { return refusal.New(ErrInvalid, format, a...) }

// State returns a copy of the fold of the certificate entries the store
// holds.
func (s *Service) State(ctx context.Context) (*certificate.State, error) {
	s.foldMu.Lock()
	defer s.foldMu.Unlock()
	st, err := s.folded(ctx)
	if err != nil {
		return nil, err
	}
	return st.Clone(), nil
}

// folded returns the kept fold, reading and folding the stored entries the
// first time. The caller holds s.foldMu.
func (s *Service) folded(ctx context.Context) (*certificate.State, error) {
	if s.fold != nil {
		return s.fold, nil
	}
	evs, err := s.Store.CertificateEvents(ctx)
	if err != nil {
		return nil, err
	}
	state, err := certificate.Fold(evs)
	if err != nil {
		return nil, fmt.Errorf("the store's certificate entries do not fold: %w", err)
	}
	s.fold = state
	return state, nil
}

// check runs fn on the kept fold. The caller holds s.mu, so nothing but
// the operation's own entry changes the fold until it is applied.
func (s *Service) check(ctx context.Context, fn func(*certificate.State) error) error {
	s.foldMu.Lock()
	defer s.foldMu.Unlock()
	st, err := s.folded(ctx)
	if err != nil {
		return err
	}
	return fn(st)
}

// outcome is the answer of the applied operation ev: its certificate as
// the operation left it. The caller holds s.foldMu.
func outcome(st *certificate.State, ev certificate.Event, retry bool) Outcome {
	c, _ := st.CertificateAt(ev.Entry.Certificate, ev.Index)
	return Outcome{Index: ev.Index, Entry: ev.Entry, Certificate: c, StatementIssued: st.IssuedAt(c.Statement, ev.Index), Retry: retry}
}

// replay looks the request's operation ID up: a retry of an applied
// operation (same kind and everything the request gave the same as the
// entry says; same gives whether a request of that kind could have made
// the entry) is its first answer again (ok); any other use of the ID is
// certificate.ErrReplayed. An ID not on the ledger is neither.
func replay(st *certificate.State, op string, same func(*certificate.Entry) bool) (Outcome, bool, error) {
	if op == "" {
		return Outcome{}, false, nil
	}
	ev, ok := st.OperationEvent(op)
	if !ok {
		return Outcome{}, false, nil
	}
	if !same(ev.Entry) {
		return Outcome{}, false, fmt.Errorf("%w: operation %s is on the ledger at index %d (%s), and this request differs from it",
			certificate.ErrReplayed, op, ev.Index, ev.Entry.Op)
	}
	return outcome(st, ev, true), true, nil
}

// Issue issues a verifiable statement's saving (or part of it) as a
// certificate held by the statement's enterprise. It refuses a statement
// that is not verifiable, one whose ID does not match its digest, and any
// volume beyond the statement's allowance less what was issued of it.
func (s *Service) Issue(ctx context.Context, req Issue) (Outcome, error) {
	if s.Statements == nil {
		return Outcome{}, refusal.New(ErrNoStatements, "no M&V statements on this server: statement %s cannot be issued", req.Statement)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ref, err := s.Statements.Statement(ctx, req.Statement)
	if err != nil {
		return Outcome{}, fmt.Errorf("statement %s: %w", req.Statement, err)
	}
	if err := checkRef(req.Statement, ref); err != nil {
		return Outcome{}, err
	}
	if req.Authorize != nil {
		if err := req.Authorize(ctx, ref.Enterprise); err != nil {
			return Outcome{}, err
		}
	}
	if _, err := s.Store.Enterprise(ctx, ref.Enterprise); err != nil {
		return Outcome{}, fmt.Errorf("statement %s: enterprise %s: %w", ref.ID, ref.Enterprise, err)
	}
	allowance, err := certificate.Allowance(ref.MeetsGuideline14, ref.SavingsM3, ref.UncertaintyM3)
	if err != nil {
		return Outcome{}, fmt.Errorf("statement %s: %w", ref.ID, err)
	}
	size, err := s.Ledger.Size(ctx)
	if err != nil {
		return Outcome{}, err
	}
	var e *certificate.Entry
	var retry Outcome
	err = s.check(ctx, func(state *certificate.State) (err error) {
		var ok bool
		if retry, ok, err = replay(state, req.Operation, func(o *certificate.Entry) bool {
			return o.Op == certificate.OpIssue && o.Statement == ref.ID && o.Actor == req.Issuer &&
				(req.Volume == 0 || req.Volume == o.Volume) && (req.Certificate == "" || req.Certificate == o.Certificate)
		}); ok || err != nil {
			return err
		}
		vol := req.Volume
		if vol == 0 {
			issued, _ := state.Issued(ref.ID)
			if issued >= allowance {
				return fmt.Errorf("%w: statement %s allows %d m³ and all of it is issued", certificate.ErrOverIssue, ref.ID, allowance)
			}
			vol = allowance - issued
		}
		if vol > allowance {
			return fmt.Errorf("%w: statement %s allows %d m³, not %d m³", certificate.ErrOverIssue, ref.ID, allowance, vol)
		}
		e = &certificate.Entry{Op: certificate.OpIssue, ID: s.id(req.Operation, "op-"), Certificate: s.id(req.Certificate, "wrc-"),
			Statement: ref.ID, Digest: ref.Digest, Checkpoint: ref.CheckpointSize, Allowance: allowance, Volume: vol,
			Holder: ref.Enterprise, Actor: req.Issuer, Time: s.now()}
		return precheck(state, size, e)
	})
	if err != nil || e == nil {
		return retry, err
	}
	return s.submit(ctx, e)
}

// checkRef holds a statement to the shape the contract with M&V gives it.
func checkRef(id string, ref StatementRef) error {
	if ref.ID != id {
		return invalid("statement %s: the source answered statement %s", id, ref.ID)
	}
	if len(ref.Digest) != 64 || strings.ToLower(ref.Digest) != ref.Digest {
		return invalid("statement %s: digest %.70q is not 64 lower-case hex digits", id, ref.Digest)
	}
	if _, err := hex.DecodeString(ref.Digest); err != nil {
		return invalid("statement %s: digest: %v", id, err)
	}
	if want := "mvs-" + ref.Digest[:16]; ref.ID != want {
		return invalid("statement %s: its ID should be %s, from its digest", id, want)
	}
	if ref.CheckpointSize == 0 {
		return invalid("statement %s: no ledger checkpoint", id)
	}
	return nil
}

// Transfer moves volume of a certificate from one holder to another (a
// registered enterprise); a part of a holding splits it.
func (s *Service) Transfer(ctx context.Context, req Transfer) (Outcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.Store.Enterprise(ctx, req.To); err != nil {
		return Outcome{}, fmt.Errorf("transfer to %s: %w", req.To, err)
	}
	e := &certificate.Entry{Op: certificate.OpTransfer, ID: s.id(req.Operation, "op-"), Certificate: req.Certificate,
		From: req.From, To: req.To, Volume: req.Volume, Actor: req.Actor, Time: s.now()}
	return s.spend(ctx, req.Operation, e)
}

// Retire retires volume of a certificate from a holding, for good.
func (s *Service) Retire(ctx context.Context, req Retire) (Outcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := &certificate.Entry{Op: certificate.OpRetire, ID: s.id(req.Operation, "op-"), Certificate: req.Certificate,
		Holder: req.Holder, Volume: req.Volume, Purpose: req.Purpose, Actor: req.Actor, Time: s.now()}
	return s.spend(ctx, req.Operation, e)
}

// spend answers a retry of a transfer or retirement (the request's
// operation ID, given, on the ledger as the same operation), or checks e
// and submits it. The caller holds s.mu.
func (s *Service) spend(ctx context.Context, op string, e *certificate.Entry) (Outcome, error) {
	size, err := s.Ledger.Size(ctx)
	if err != nil {
		return Outcome{}, err
	}
	var retry Outcome
	var ok bool
	err = s.check(ctx, func(state *certificate.State) (err error) {
		if retry, ok, err = replay(state, op, func(o *certificate.Entry) bool {
			return o.Op == e.Op && o.Certificate == e.Certificate && o.From == e.From && o.To == e.To && o.Holder == e.Holder &&
				o.Volume == e.Volume && o.Purpose == e.Purpose && o.Actor == e.Actor
		}); ok || err != nil {
			return err
		}
		return precheck(state, size, e)
	})
	if err != nil || ok {
		return retry, err
	}
	return s.submit(ctx, e)
}

// precheck checks e against the fold as of the ledger's size read under
// s.mu: the entry lands at that index or later, after everything folded.
func precheck(state *certificate.State, size uint64, e *certificate.Entry) error {
	if err := e.Validate(); err != nil {
		return invalid("%v", err)
	}
	return state.Check(size, e)
}

// submit signs a checked entry with the log key and sequences it; the
// store and the fold change when it is applied, in ledger order (Apply),
// before SubmitEntry returns. The caller holds s.mu, not s.foldMu.
func (s *Service) submit(ctx context.Context, e *certificate.Entry) (Outcome, error) {
	signed, err := s.Ledger.SignNote(e.Text())
	if err != nil {
		return Outcome{}, err
	}
	idx, err := s.Ingest.SubmitEntry(ctx, ingest.Entry{Raw: signed, Prompt: true, Apply: func(ctx context.Context, index uint64) error {
		return s.Apply(ctx, index, e)
	}})
	if err != nil {
		return Outcome{}, fmt.Errorf("certificate operation %s: %w", e.ID, err)
	}
	s.foldMu.Lock()
	defer s.foldMu.Unlock()
	st, err := s.folded(ctx)
	if err != nil {
		return Outcome{}, err
	}
	return outcome(st, certificate.Event{Index: idx, Entry: e}, false), nil
}

// Apply makes a certificate entry's effect in the store and the kept fold:
// it is kept at its ledger index if the fold of the entries kept before
// allows it. It is idempotent (the same entry at its index again is nil),
// because after a crash the store catches up by applying the ledger's
// entries again. An entry the fold refuses is store.ErrInvalid: the ledger
// holds an entry that should not be there, which `shuixiao verify log`
// reports too.
func (s *Service) Apply(ctx context.Context, index uint64, e *certificate.Entry) error {
	s.foldMu.Lock()
	defer s.foldMu.Unlock()
	state, err := s.folded(ctx)
	if err != nil {
		return err
	}
	if ev, ok := state.OperationEvent(e.ID); ok && ev.Index == index && ev.Entry.Text() == e.Text() {
		return nil // applied before
	}
	if err := state.Check(index, e); err != nil {
		return fmt.Errorf("%w: certificate entry at ledger index %d: %v", store.ErrInvalid, index, err)
	}
	if err := s.Store.PutCertificateEvent(ctx, certificate.Event{Index: index, Entry: e}); err != nil {
		// The store may hold it nonetheless (an error after the commit):
		// read the fold again next time rather than guess.
		s.fold = nil
		return err
	}
	if err := state.Apply(index, e); err != nil {
		s.fold = nil
		return fmt.Errorf("certificate entry at ledger index %d: checked, then refused by the fold: %w", index, err)
	}
	return nil
}

// ApplyEntry applies the ledger entry at index, a hn-water-right/v1 note
// whose signature by the log key the caller checked (ingest.CatchUp's
// onOther does).
func (s *Service) ApplyEntry(ctx context.Context, index uint64, entry []byte) error {
	e, err := certificate.Parse(entry)
	if err != nil {
		return fmt.Errorf("%w: ledger entry %d: %v", store.ErrInvalid, index, err)
	}
	return s.Apply(ctx, index, e)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// id returns given, or a new ID with prefix.
func (s *Service) id(given, prefix string) string {
	if given != "" {
		return given
	}
	if s.NewID != nil {
		return s.NewID(prefix)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}
