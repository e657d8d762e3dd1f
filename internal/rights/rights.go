// Package rights issues, transfers and retires water-rights certificates
// (package certificate) through the ledger. Each operation is checked
// against the fold of the certificate entries the store holds, signed with
// the log key as a hn-water-right/v1 entry, sequenced through the ingest
// pipeline, and applied to the store in ledger order (Apply) — and again,
// idempotently, when the store catches up with the ledger after a crash
// (ApplyEntry). Operations are serialised by the Service, so two requests
// cannot both pass the check on the same state: a statement's allowance or
// a holding can be spent once. A refused operation writes nothing, neither
// to the ledger nor to the store.
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

// StatementRef is an M&V statement as the certificates see it: the fields
// of contract.Statement (helper mv's package contract), declared here until
// the branches merge; the integrator adapts contract.Statement to it.
type StatementRef struct {
	ID                 string    // "mvs-" + first 16 hex of Digest
	Contract           string    // contract ID
	Enterprise         string    // enterprise ID
	From, To           time.Time // reporting period [From, To)
	AdjustedBaselineM3 float64
	ReportingM3        float64
	SavingsM3          float64
	UncertaintyM3      float64 // 90 % (Guideline 14)
	MeetsGuideline14   bool
	CheckpointSize     uint64 // ledger size the metered data were read at
	CheckpointRoot     string // hex root hash of that checkpoint
	Digest             string // hex SHA-256 of the canonical statement
}

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

// Service runs the certificate operations. Use one Service per ledger: it
// is what serialises them.
type Service struct {
	Store      Store
	Statements Statements // nil: nothing can be issued (ErrNoStatements)
	Ledger     Ledger
	Ingest     Sequencer
	Now        func() time.Time
	// NewID makes operation and certificate IDs (default: random hex).
	NewID func(prefix string) string

	mu sync.Mutex
}

// Issue is a request to issue a statement's saving as a certificate.
type Issue struct {
	Statement string
	// Volume in m³; 0 issues all the statement's allowance not yet issued.
	Volume uint64
	// Certificate and Operation are the IDs to use (empty: made up). A
	// client retrying with the same Operation is refused as a replay, so
	// a retry never issues twice.
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

// Outcome is an applied operation with its ledger index.
type Outcome struct {
	Index uint64
	Entry *certificate.Entry
}

func invalid(format string, a ...any) error { return refusal.New(ErrInvalid, format, a...) }

// State folds the certificate entries the store holds.
func (s *Service) State(ctx context.Context) (*certificate.State, error) {
	return stateOf(ctx, s.Store)
}

func stateOf(ctx context.Context, st store.Certificates) (*certificate.State, error) {
	evs, err := st.CertificateEvents(ctx)
	if err != nil {
		return nil, err
	}
	state, err := certificate.Fold(evs)
	if err != nil {
		return nil, fmt.Errorf("the store's certificate entries do not fold: %w", err)
	}
	return state, nil
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
	state, err := s.State(ctx)
	if err != nil {
		return Outcome{}, err
	}
	if at, ok := state.Operation(req.Operation); ok {
		return Outcome{}, fmt.Errorf("%w: operation %s is on the ledger at index %d", certificate.ErrReplayed, req.Operation, at)
	}
	vol := req.Volume
	if vol == 0 {
		issued, _ := state.Issued(ref.ID)
		if issued >= allowance {
			return Outcome{}, fmt.Errorf("%w: statement %s allows %d m³ and all of it is issued", certificate.ErrOverIssue, ref.ID, allowance)
		}
		vol = allowance - issued
	}
	e := &certificate.Entry{Op: certificate.OpIssue, ID: s.id(req.Operation, "op-"), Certificate: s.id(req.Certificate, "wrc-"),
		Statement: ref.ID, Digest: ref.Digest, Checkpoint: ref.CheckpointSize, Allowance: allowance, Volume: vol,
		Holder: ref.Enterprise, Actor: req.Issuer, Time: s.now()}
	if vol > allowance {
		return Outcome{}, fmt.Errorf("%w: statement %s allows %d m³, not %d m³", certificate.ErrOverIssue, ref.ID, allowance, vol)
	}
	return s.submit(ctx, state, e)
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
	state, err := s.State(ctx)
	if err != nil {
		return Outcome{}, err
	}
	e := &certificate.Entry{Op: certificate.OpTransfer, ID: s.id(req.Operation, "op-"), Certificate: req.Certificate,
		From: req.From, To: req.To, Volume: req.Volume, Actor: req.Actor, Time: s.now()}
	return s.submit(ctx, state, e)
}

// Retire retires volume of a certificate from a holding, for good.
func (s *Service) Retire(ctx context.Context, req Retire) (Outcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	state, err := s.State(ctx)
	if err != nil {
		return Outcome{}, err
	}
	e := &certificate.Entry{Op: certificate.OpRetire, ID: s.id(req.Operation, "op-"), Certificate: req.Certificate,
		Holder: req.Holder, Volume: req.Volume, Purpose: req.Purpose, Actor: req.Actor, Time: s.now()}
	return s.submit(ctx, state, e)
}

// submit checks e against the state as of the ledger's present size, signs
// it with the log key and sequences it; the store changes when it is
// applied, in ledger order. The caller holds s.mu.
func (s *Service) submit(ctx context.Context, state *certificate.State, e *certificate.Entry) (Outcome, error) {
	if err := e.Validate(); err != nil {
		return Outcome{}, invalid("%v", err)
	}
	size, err := s.Ledger.Size(ctx)
	if err != nil {
		return Outcome{}, err
	}
	// The entry lands at index size or later, after everything folded.
	if err := state.Check(size, e); err != nil {
		return Outcome{}, err
	}
	signed, err := s.Ledger.SignNote(e.Text())
	if err != nil {
		return Outcome{}, err
	}
	idx, err := s.Ingest.SubmitEntry(ctx, ingest.Entry{Raw: signed, Prompt: true, Apply: func(ctx context.Context, index uint64) error {
		return Apply(ctx, s.Store, index, e)
	}})
	if err != nil {
		return Outcome{}, fmt.Errorf("certificate operation %s: %w", e.ID, err)
	}
	return Outcome{Index: idx, Entry: e}, nil
}

// Apply makes a certificate entry's effect in the store: it is kept at its
// ledger index if the fold of the entries kept before allows it. It is
// idempotent (the same entry at its index again is nil), because after a
// crash the store catches up by applying the ledger's entries again. An
// entry the fold refuses is store.ErrInvalid: the ledger holds an entry
// that should not be there, which `shuixiao verify log` reports too.
func Apply(ctx context.Context, st store.Certificates, index uint64, e *certificate.Entry) error {
	evs, err := st.CertificateEvents(ctx)
	if err != nil {
		return err
	}
	for _, ev := range evs {
		if ev.Index == index && ev.Entry.Text() == e.Text() {
			return nil // applied before
		}
	}
	state, err := certificate.Fold(evs)
	if err != nil {
		return fmt.Errorf("the store's certificate entries do not fold: %w", err)
	}
	if err := state.Check(index, e); err != nil {
		return fmt.Errorf("%w: certificate entry at ledger index %d: %v", store.ErrInvalid, index, err)
	}
	return st.PutCertificateEvent(ctx, certificate.Event{Index: index, Entry: e})
}

// ApplyEntry applies the ledger entry at index, a hn-water-right/v1 note
// whose signature by the log key the caller checked (ingest.CatchUp's
// onOther does).
func ApplyEntry(ctx context.Context, st store.Certificates, index uint64, entry []byte) error {
	e, err := certificate.Parse(entry)
	if err != nil {
		return fmt.Errorf("%w: ledger entry %d: %v", store.ErrInvalid, index, err)
	}
	return Apply(ctx, st, index, e)
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
