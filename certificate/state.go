package certificate

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"
)

// Errors classifying a refused operation; the error's text says why.
var (
	// ErrReplayed: the operation's ID is on the log already.
	ErrReplayed = errors.New("operation replayed")
	// ErrExists: a certificate of that ID was issued before.
	ErrExists = errors.New("certificate exists")
	// ErrOverIssue: the statement's allowance is used up, or the issue
	// disagrees with earlier issues of the statement.
	ErrOverIssue = errors.New("statement over-issued")
	// ErrUnknown: no certificate of that ID was issued.
	ErrUnknown = errors.New("no such certificate")
	// ErrNotHolder: the one transferring or retiring holds less than the
	// volume (nothing at all, or not enough).
	ErrNotHolder = errors.New("not the holder of that volume")
	// ErrOrder: entries applied out of ledger order, or an issue citing a
	// checkpoint the log had not reached.
	ErrOrder = errors.New("out of ledger order")
)

// Event is an applied entry with its ledger index.
type Event struct {
	Index uint64
	Entry *Entry
}

// Certificate is one certificate's standing after the entries folded so
// far.
type Certificate struct {
	ID          string
	Statement   string
	Digest      string
	Checkpoint  uint64
	Enterprise  string // the first holder
	Allowance   uint64 // the statement's allowance, m³ (all its certificates together)
	Volume      uint64 // issued, m³
	Retired     uint64 // m³
	Issued      time.Time
	IssuedIndex uint64
	// Holdings maps each holder to the m³ it holds (no zero entries).
	Holdings map[string]uint64
	// History is every entry of the certificate in ledger order.
	History []Event
}

// Balance is one holder's m³ across all certificates.
type Balance struct {
	Holder  string
	Held    uint64
	Retired uint64 // retired by this holder
}

// statementUse is what the issues of one statement have agreed on.
type statementUse struct {
	digest     string
	checkpoint uint64
	enterprise string
	allowance  uint64
	issued     uint64
	issues     []Event // in ledger order
}

// State is the fold of certificate entries in ledger order. The zero value
// is an empty log. It is not safe for concurrent use.
type State struct {
	ops        map[string]Event // operation ID → its entry and ledger index
	certs      map[string]*Certificate
	statements map[string]*statementUse
	retiredBy  map[string]uint64
	last       uint64
	applied    int
}

// Fold applies events in order to an empty state; the first refusal stops
// it, with the event's index in the error.
func Fold(events []Event) (*State, error) {
	s := &State{}
	for _, ev := range events {
		if err := s.Apply(ev.Index, ev.Entry); err != nil {
			return s, fmt.Errorf("ledger index %d: %w", ev.Index, err)
		}
	}
	return s, nil
}

// Check reports whether e may be applied at ledger index, without applying
// it.
func (s *State) Check(index uint64, e *Entry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if s.applied > 0 && index <= s.last {
		return fmt.Errorf("%w: entry at index %d after index %d", ErrOrder, index, s.last)
	}
	if at, ok := s.ops[e.ID]; ok {
		return fmt.Errorf("%w: operation %s is on the ledger at index %d", ErrReplayed, e.ID, at.Index)
	}
	switch e.Op {
	case OpIssue:
		return s.checkIssue(index, e)
	case OpTransfer:
		return s.checkSpend(e, e.From)
	case OpRetire:
		return s.checkSpend(e, e.Holder)
	}
	return fmt.Errorf("op %q is not issue, transfer or retire", e.Op)
}

// checkIssue refuses a second certificate of one ID, an issue citing a
// checkpoint the log had not reached, an issue disagreeing with the
// statement's earlier issues (digest, checkpoint, enterprise, allowance),
// and one that takes the statement's issued total over its allowance.
func (s *State) checkIssue(index uint64, e *Entry) error {
	if c, ok := s.certs[e.Certificate]; ok {
		return fmt.Errorf("%w: certificate %s was issued at ledger index %d", ErrExists, e.Certificate, c.IssuedIndex)
	}
	if e.Checkpoint > index {
		return fmt.Errorf("%w: issue at index %d cites checkpoint size %d, which the log had not reached", ErrOrder, index, e.Checkpoint)
	}
	u, ok := s.statements[e.Statement]
	if !ok {
		return nil // Validate held the volume to the allowance
	}
	switch {
	case u.digest != e.Digest:
		return fmt.Errorf("%w: statement %s was issued with digest %s, this issue names %s", ErrOverIssue, e.Statement, u.digest, e.Digest)
	case u.checkpoint != e.Checkpoint || u.enterprise != e.Holder || u.allowance != e.Allowance:
		return fmt.Errorf("%w: statement %s was issued at checkpoint %d to %s with allowance %d m³; this issue says %d, %s, %d m³",
			ErrOverIssue, e.Statement, u.checkpoint, u.enterprise, u.allowance, e.Checkpoint, e.Holder, e.Allowance)
	case e.Volume > u.allowance-u.issued:
		return fmt.Errorf("%w: statement %s allows %d m³, %d m³ are issued, %d m³ more would exceed it",
			ErrOverIssue, e.Statement, u.allowance, u.issued, e.Volume)
	}
	return nil
}

// checkSpend refuses a transfer or retirement of an unknown certificate or
// of more than holder holds of it.
func (s *State) checkSpend(e *Entry, holder string) error {
	c, ok := s.certs[e.Certificate]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknown, e.Certificate)
	}
	if held := c.Holdings[holder]; held < e.Volume {
		return fmt.Errorf("%w: %s holds %d m³ of certificate %s, not %d m³", ErrNotHolder, holder, held, e.Certificate, e.Volume)
	}
	return nil
}

// Apply folds e, the entry at ledger index, into the state, or refuses it
// and leaves the state as it was.
func (s *State) Apply(index uint64, e *Entry) error {
	if err := s.Check(index, e); err != nil {
		return err
	}
	if s.ops == nil {
		s.ops, s.certs, s.statements, s.retiredBy = map[string]Event{}, map[string]*Certificate{}, map[string]*statementUse{}, map[string]uint64{}
	}
	ev := Event{Index: index, Entry: e}
	s.ops[e.ID] = ev
	s.last, s.applied = index, s.applied+1
	switch e.Op {
	case OpIssue:
		u := s.statements[e.Statement]
		if u == nil {
			u = &statementUse{digest: e.Digest, checkpoint: e.Checkpoint, enterprise: e.Holder, allowance: e.Allowance}
			s.statements[e.Statement] = u
		}
		u.issued += e.Volume
		u.issues = append(u.issues, ev)
		s.certs[e.Certificate] = newCertificate(ev)
	case OpTransfer, OpRetire:
		s.certs[e.Certificate].spend(ev)
		if e.Op == OpRetire {
			s.retiredBy[e.Holder] += e.Volume
		}
	}
	return nil
}

// newCertificate is the certificate an issue entry makes.
func newCertificate(ev Event) *Certificate {
	e := ev.Entry
	return &Certificate{ID: e.Certificate, Statement: e.Statement, Digest: e.Digest, Checkpoint: e.Checkpoint,
		Enterprise: e.Holder, Allowance: e.Allowance, Volume: e.Volume, Issued: e.Time, IssuedIndex: ev.Index,
		Holdings: map[string]uint64{e.Holder: e.Volume}, History: []Event{ev}}
}

// spend applies a transfer or a retirement of c that Check allowed.
func (c *Certificate) spend(ev Event) {
	e := ev.Entry
	switch e.Op {
	case OpTransfer:
		take(c.Holdings, e.From, e.Volume)
		c.Holdings[e.To] += e.Volume
	case OpRetire:
		take(c.Holdings, e.Holder, e.Volume)
		c.Retired += e.Volume
	}
	c.History = append(c.History, ev)
}

func take(h map[string]uint64, holder string, v uint64) {
	if h[holder] -= v; h[holder] == 0 {
		delete(h, holder)
	}
}

// Operation returns the ledger index of an applied operation.
func (s *State) Operation(id string) (uint64, bool) {
	ev, ok := s.ops[id]
	return ev.Index, ok
}

// OperationEvent returns an applied operation's entry with its ledger
// index.
func (s *State) OperationEvent(id string) (Event, bool) {
	ev, ok := s.ops[id]
	return ev, ok
}

// Clone returns a copy of the state that shares nothing mutable with it
// (entries are shared: an applied entry is never changed).
func (s *State) Clone() *State {
	d := &State{last: s.last, applied: s.applied}
	if s.ops == nil {
		return d
	}
	d.ops, d.retiredBy = maps.Clone(s.ops), maps.Clone(s.retiredBy)
	d.certs = make(map[string]*Certificate, len(s.certs))
	for id, c := range s.certs {
		cc := c.clone()
		d.certs[id] = &cc
	}
	d.statements = make(map[string]*statementUse, len(s.statements))
	for id, u := range s.statements {
		uu := *u
		uu.issues = slices.Clone(u.issues)
		d.statements[id] = &uu
	}
	return d
}

// Len is the number of entries applied.
func (s *State) Len() int { return s.applied }

// Certificate returns one certificate (a copy).
func (s *State) Certificate(id string) (Certificate, bool) {
	c, ok := s.certs[id]
	if !ok {
		return Certificate{}, false
	}
	return c.clone(), true
}

// Certificates lists every certificate in the order issued (copies).
func (s *State) Certificates() []Certificate {
	out := make([]Certificate, 0, len(s.certs))
	for _, c := range s.certs {
		out = append(out, c.clone())
	}
	slices.SortFunc(out, func(a, b Certificate) int { return cmp.Compare(a.IssuedIndex, b.IssuedIndex) })
	return out
}

// Issued returns the m³ issued on a statement so far and its allowance
// (both 0 for a statement never issued).
func (s *State) Issued(statement string) (issued, allowance uint64) {
	if u, ok := s.statements[statement]; ok {
		return u.issued, u.allowance
	}
	return 0, 0
}

// IssuedAt returns the m³ issued on a statement by the entries up to
// ledger index (included).
func (s *State) IssuedAt(statement string, index uint64) uint64 {
	var n uint64
	if u, ok := s.statements[statement]; ok {
		for _, ev := range u.issues {
			if ev.Index <= index {
				n += ev.Entry.Volume
			}
		}
	}
	return n
}

// CertificateAt returns a certificate as it stood once the entries up to
// ledger index (included) were applied: what an operation's answer showed.
func (s *State) CertificateAt(id string, index uint64) (Certificate, bool) {
	c, ok := s.certs[id]
	if !ok || c.IssuedIndex > index {
		return Certificate{}, false
	}
	at := newCertificate(c.History[0])
	for _, ev := range c.History[1:] {
		if ev.Index > index {
			break
		}
		at.spend(ev)
	}
	return *at, true
}

// Balances returns every holder's m³ held and retired across all
// certificates, by holder.
func (s *State) Balances() []Balance {
	by := map[string]*Balance{}
	get := func(h string) *Balance {
		if by[h] == nil {
			by[h] = &Balance{Holder: h}
		}
		return by[h]
	}
	for _, c := range s.certs {
		for h, v := range c.Holdings {
			get(h).Held += v
		}
	}
	for h, v := range s.retiredBy {
		get(h).Retired += v
	}
	out := make([]Balance, 0, len(by))
	for _, h := range slices.Sorted(maps.Keys(by)) {
		out = append(out, *by[h])
	}
	return out
}

// Parties returns everyone a certificate has touched: its first holder,
// every transfer's parties and every retiring holder.
func (c *Certificate) Parties() []string {
	seen := map[string]bool{c.Enterprise: true}
	for _, ev := range c.History {
		for _, h := range []string{ev.Entry.From, ev.Entry.To, ev.Entry.Holder} {
			if h != "" {
				seen[h] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

func (c *Certificate) clone() Certificate {
	d := *c
	d.Holdings = maps.Clone(c.Holdings)
	d.History = slices.Clone(c.History)
	return d
}

// ErrUnverifiable: the statement does not prove a saving.
var ErrUnverifiable = errors.New("statement not verifiable")

// Allowance is the most a statement may be issued as, in whole m³:
// floor(savings − uncertainty), for a verifiable statement only — one that
// meets ASHRAE Guideline 14's calibration limits and whose saving exceeds
// its 90 % uncertainty (docs: the contract between M&V and certificates).
// Anything else is ErrUnverifiable.
func Allowance(meetsGuideline14 bool, savingsM3, uncertaintyM3 float64) (uint64, error) {
	switch {
	case !meetsGuideline14:
		return 0, fmt.Errorf("%w: its baseline model does not meet ASHRAE Guideline 14 (CV(RMSE), NMBE)", ErrUnverifiable)
	case !(savingsM3 > uncertaintyM3) || uncertaintyM3 < 0 || math.IsInf(savingsM3, 0):
		return 0, fmt.Errorf("%w: savings %.1f m³ do not exceed their uncertainty %.1f m³", ErrUnverifiable, savingsM3, uncertaintyM3)
	}
	a := math.Floor(savingsM3 - uncertaintyM3)
	if a < 1 {
		return 0, fmt.Errorf("%w: savings %.1f m³ exceed their uncertainty %.1f m³ by less than 1 m³", ErrUnverifiable, savingsM3, uncertaintyM3)
	}
	if a > MaxVolume {
		return 0, fmt.Errorf("%w: savings %.0f m³ are more than %d m³", ErrUnverifiable, savingsM3, uint64(MaxVolume))
	}
	return uint64(a), nil
}
