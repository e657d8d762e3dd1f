// Package registries runs the use cases of the plan's registries (package
// directory) and of the evaluation's declared answers: an enterprise's
// above-scale flag, its water manager and the flag on every enterprise
// above directory.ManagerThreshold m³ a year without one, the third-party
// service providers, the links of retrofit cases to a provider and a
// technology, the answers to the declared requirements of GB/T 7119, and
// search over the registries. Who may do what is the API's; the records'
// rules are package directory's and evaluate's; this package stamps who
// and when, checks references and reads the annual intake the manager
// rule needs from the targets' roll-up (internal/rollup).
package registries

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/shuixiao/shuixiao/directory"
	"github.com/shuixiao/shuixiao/evaluate"
	"github.com/shuixiao/shuixiao/internal/rollup"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/quotacase"
	"github.com/shuixiao/shuixiao/target"
)

// Store is what the use cases need of the store.
type Store interface {
	Enterprise(ctx context.Context, id string) (meter.Enterprise, error)
	Enterprises(ctx context.Context, f store.Filter) ([]meter.Enterprise, error)
	UpdateEnterprise(ctx context.Context, e meter.Enterprise) error
	QuotaCase(ctx context.Context, id int64) (quotacase.Case, error)
	QuotaCases(ctx context.Context, f quotacase.Filter) ([]quotacase.Case, error)
	store.Directory
	store.EvaluationAnswers
}

// Snapshots gives the targets' roll-up of a year at once (rollup.Service;
// a *rollup.ComputingError while the year has none yet).
type Snapshots interface {
	Current(year int, refresh bool) (*rollup.Snapshot, rollup.Status, error)
}

// Service runs the use cases.
type Service struct {
	Store Store
	// Rollup gives each enterprise's annual intake for the manager rule;
	// nil leaves every enterprise's intake unknown.
	Rollup Snapshots
	// Invalidate is called after a change that alters the targets'
	// roll-up (the above-scale flag); may be nil.
	Invalidate func()
	Now        func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// stamp is the time a record is stamped with: milliseconds, as the store
// keeps times.
func (s *Service) stamp() time.Time { return s.now().Truncate(time.Millisecond) }

// SetAboveScale sets an enterprise's above-scale flag (规模以上工业企业).
func (s *Service) SetAboveScale(ctx context.Context, id string, above bool) (meter.Enterprise, error) {
	e, err := s.Store.Enterprise(ctx, id)
	if err != nil {
		return e, err
	}
	if e.AboveScale == above {
		return e, nil
	}
	e.AboveScale = above
	if err := s.Store.UpdateEnterprise(ctx, e); err != nil {
		return e, err
	}
	if s.Invalidate != nil {
		s.Invalidate()
	}
	return e, nil
}

// AppointManager records an enterprise's water manager, stamped with the
// actor and now.
func (s *Service) AppointManager(ctx context.Context, m directory.Manager, actor string) (directory.Manager, error) {
	m.UpdatedBy, m.UpdatedAt = actor, s.stamp()
	if err := s.Store.PutWaterManager(ctx, m); err != nil {
		return directory.Manager{}, err
	}
	return m, nil
}

// PutProvider creates (create) or replaces a service provider, stamped.
func (s *Service) PutProvider(ctx context.Context, p directory.Provider, create bool, actor string) (directory.Provider, error) {
	p.UpdatedBy, p.UpdatedAt = actor, s.stamp()
	if err := s.Store.PutProvider(ctx, p, create); err != nil {
		return directory.Provider{}, err
	}
	return p, nil
}

// LinkCase links a retrofit case to a provider and a technology, stamped.
func (s *Service) LinkCase(ctx context.Context, l directory.CaseLink, actor string) (directory.CaseLink, error) {
	l.LinkedBy, l.LinkedAt = actor, s.stamp()
	if err := s.Store.LinkQuotaCase(ctx, l); err != nil {
		return directory.CaseLink{}, err
	}
	return l, nil
}

// CaseLink returns a case's link; ok is false when it has none.
func (s *Service) CaseLink(ctx context.Context, id int64) (directory.CaseLink, bool, error) {
	ls, err := s.Store.QuotaCaseLinks(ctx, id)
	if err != nil || len(ls) == 0 {
		return directory.CaseLink{}, false, err
	}
	return ls[0], true, nil
}

// AnswerInput is one answer as a caller gives it.
type AnswerInput struct {
	Requirement string `json:"requirement"`
	Met         bool   `json:"met"`
	Note        string `json:"note,omitempty"`
}

// Answer stores answers to an enterprise's declared requirements, all or
// nothing, stamped with the actor and now.
func (s *Service) Answer(ctx context.Context, enterprise string, in []AnswerInput, actor string) ([]evaluate.Answer, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("%w: field answers is empty", store.ErrInvalid)
	}
	if len(in) > 100 {
		return nil, fmt.Errorf("%w: field answers: more than 100", store.ErrInvalid)
	}
	at := s.stamp()
	as := make([]evaluate.Answer, len(in))
	for i, a := range in {
		as[i] = evaluate.Answer{Enterprise: enterprise, Requirement: a.Requirement, Met: a.Met, Note: a.Note, AnsweredBy: actor, AnsweredAt: at}
	}
	ids, err := s.Store.AddEvaluationAnswers(ctx, as)
	if err != nil {
		return nil, err
	}
	for i := range as {
		as[i].ID = ids[i]
	}
	return as, nil
}

// Answers lists an enterprise's answers, oldest first, with the latest
// per requirement.
func (s *Service) Answers(ctx context.Context, enterprise string) (Answers, error) {
	as, err := s.Store.EvaluationAnswers(ctx, enterprise)
	if err != nil {
		return Answers{}, err
	}
	out := Answers{Enterprise: enterprise, History: as, Latest: evaluate.Latest(as), Requirements: []evaluate.Requirement{}}
	if out.History == nil {
		out.History = []evaluate.Answer{}
	}
	for _, q := range evaluate.Requirements() {
		if q.Check == evaluate.CheckDeclared {
			out.Requirements = append(out.Requirements, q)
		}
	}
	return out, nil
}

// Answers are an enterprise's answers to the declared requirements.
type Answers struct {
	Enterprise string `json:"enterprise"`
	// Requirements are the declared requirements an answer can be given to.
	Requirements []evaluate.Requirement     `json:"requirements"`
	Latest       map[string]evaluate.Answer `json:"latest"`
	History      []evaluate.Answer          `json:"history"`
}

// ManagerStatus is an enterprise's water-manager standing.
type ManagerStatus struct {
	Enterprise string             `json:"enterprise"`
	Name       string             `json:"name"`
	Park       string             `json:"park,omitempty"`
	Region     string             `json:"region"`
	AboveScale bool               `json:"above_scale"` // 规模以上工业企业
	Manager    *directory.Manager `json:"manager,omitempty"`
	// IntakeYear is the year of AnnualIntakeM3, Basis its basis (metered,
	// declared); both empty when the year has no intake figure.
	IntakeYear     int          `json:"intake_year"`
	AnnualIntakeM3 *float64     `json:"annual_intake_m3,omitempty"`
	Basis          target.Basis `json:"basis,omitempty"`
	// Required: the intake is above directory.ManagerThreshold.
	Required bool `json:"required"`
	// Flagged: required and no manager.
	Flagged bool `json:"flagged"`
}

// Managers lists the water-manager standing of the enterprises f selects
// for year (the intake rule reads that year's figure of the targets'
// roll-up: declared statistics covering the year, else the metered
// window, as target roll-ups count it), flagged ones first.
func (s *Service) Managers(ctx context.Context, f store.Filter, year int) ([]ManagerStatus, error) {
	ents, err := s.Store.Enterprises(ctx, f)
	if err != nil {
		return nil, err
	}
	ms, err := s.Store.WaterManagers(ctx, f)
	if err != nil {
		return nil, err
	}
	byEnt := map[string]directory.Manager{}
	for _, m := range ms {
		byEnt[m.Enterprise] = m
	}
	var figs map[string]target.Year
	if s.Rollup != nil {
		snap, _, err := s.Rollup.Current(year, false)
		if err != nil {
			return nil, fmt.Errorf("annual intake of %d: %w", year, err)
		}
		figs = snap.Figures[year]
	}
	out := make([]ManagerStatus, 0, len(ents))
	for _, e := range ents {
		st := ManagerStatus{Enterprise: e.ID, Name: e.Name, Park: e.Park, Region: e.Region, AboveScale: e.AboveScale, IntakeYear: year}
		if m, ok := byEnt[e.ID]; ok {
			st.Manager = &m
		}
		if y, ok := figs[e.ID]; ok && y.Intake.OK {
			v := y.Intake.Value
			st.AnnualIntakeM3, st.Basis = &v, y.Basis
			st.Required = v > directory.ManagerThreshold
		}
		st.Flagged = st.Required && st.Manager == nil
		out = append(out, st)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Flagged && !out[j].Flagged })
	return out, nil
}

// ManagerList is the water-manager standing the registries page reads: the
// year of the intake, the threshold, how many enterprises are flagged and
// the enterprises (flagged first). Its fields are in name order, as the
// API has always answered them.
type ManagerList struct {
	Enterprises []ManagerStatus `json:"enterprises"`
	Flagged     int             `json:"flagged"`
	ThresholdM3 int             `json:"threshold_m3"`
	Year        int             `json:"year"`
}

// ManagerList is Managers with the flagged enterprises counted, and only
// those listed when flaggedOnly.
func (s *Service) ManagerList(ctx context.Context, f store.Filter, year int, flaggedOnly bool) (ManagerList, error) {
	ms, err := s.Managers(ctx, f, year)
	if err != nil {
		return ManagerList{}, err
	}
	out := ManagerList{Enterprises: ms[:0], ThresholdM3: directory.ManagerThreshold, Year: year}
	for _, m := range ms {
		if m.Flagged {
			out.Flagged++
		}
		if m.Flagged || !flaggedOnly {
			out.Enterprises = append(out.Enterprises, m)
		}
	}
	return out, nil
}

// Provider returns a provider.
func (s *Service) Provider(ctx context.Context, id string) (directory.Provider, error) {
	return s.Store.Provider(ctx, id)
}

// Providers lists providers offering service (any when empty) whose
// fields contain every word of query (directory.Match).
func (s *Service) Providers(ctx context.Context, service directory.Service, query string) ([]directory.Provider, error) {
	if service != "" && !service.Valid() {
		return nil, fmt.Errorf("%w: parameter service: %q is not one of water_balance_test, diagnosis, contract_saving, design", store.ErrInvalid, service)
	}
	ps, err := s.Store.Providers(ctx)
	if err != nil {
		return nil, err
	}
	out := []directory.Provider{}
	for _, p := range ps {
		if (service == "" || p.Offers(service)) && directory.Match(query, p.SearchFields()...) {
			out = append(out, p)
		}
	}
	return out, nil
}

// ProviderView is a provider as a caller sees it: the enterprises it
// served that the caller may not see are counted, not named.
type ProviderView struct {
	directory.Provider
	HiddenServed int `json:"served_elsewhere,omitempty"`
}

// View returns the provider as seen by a caller who sees the enterprises
// sees accepts; nil sees every enterprise.
func View(ctx context.Context, p directory.Provider, sees func(ctx context.Context, enterprise string) bool) ProviderView {
	if sees == nil {
		return ProviderView{Provider: p}
	}
	v := ProviderView{Provider: p}
	v.Served = []directory.Served{}
	for _, sv := range p.Served {
		if sees(ctx, sv.Enterprise) {
			v.Served = append(v.Served, sv)
		} else {
			v.HiddenServed++
		}
	}
	return v
}

// TechnologyEntry is a catalogue row with the retrofit cases linked to it
// (its typical cases) that the caller may see.
type TechnologyEntry struct {
	directory.Technology
	Cases []int64 `json:"cases"`
}

// Technologies lists the catalogue rows matching query and applying to
// industry (any when empty), with their linked cases among visible.
func (s *Service) Technologies(ctx context.Context, query, industry string, visible func(quotacase.Case) bool) ([]TechnologyEntry, error) {
	cases, err := s.linkedCases(ctx, visible)
	if err != nil {
		return nil, err
	}
	out := []TechnologyEntry{}
	for _, t := range directory.Catalogue() {
		if industry != "" && !t.AppliesTo(industry) || !directory.Match(query, t.SearchFields()...) {
			continue
		}
		out = append(out, TechnologyEntry{Technology: t, Cases: append([]int64{}, cases[t.ID]...)})
	}
	return out, nil
}

// linkedCases maps technology IDs to the visible cases linked to them.
func (s *Service) linkedCases(ctx context.Context, visible func(quotacase.Case) bool) (map[string][]int64, error) {
	ls, err := s.Store.QuotaCaseLinks(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]int64{}
	for _, l := range ls {
		if l.Technology == "" {
			continue
		}
		c, err := s.Store.QuotaCase(ctx, l.Case)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if visible == nil || visible(c) {
			out[l.Technology] = append(out[l.Technology], l.Case)
		}
	}
	return out, nil
}

// Hit is one search result.
type Hit struct {
	Kind string `json:"kind"` // technology, provider, manager
	ID   string `json:"id"`
	Name string `json:"name"`
	// Detail is a short description: the technology's industry, the
	// provider's services, the manager's enterprise.
	Detail string `json:"detail,omitempty"`
}

// MaxQuery bounds a search query in bytes.
const MaxQuery = 200

// Search finds technologies, providers and (among the enterprises f
// selects) water managers whose fields contain every word of query.
func (s *Service) Search(ctx context.Context, query string, f store.Filter) ([]Hit, error) {
	if len(query) > MaxQuery {
		return nil, fmt.Errorf("%w: parameter q: longer than %d bytes", store.ErrInvalid, MaxQuery)
	}
	out := []Hit{}
	for _, t := range directory.Catalogue() {
		if directory.Match(query, t.SearchFields()...) {
			out = append(out, Hit{Kind: "technology", ID: t.ID, Name: t.NameZH, Detail: t.IndustryZH})
		}
	}
	ps, err := s.Store.Providers(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if directory.Match(query, p.SearchFields()...) {
			d := ""
			for i, sv := range p.Services {
				if i > 0 {
					d += ", "
				}
				d += string(sv)
			}
			out = append(out, Hit{Kind: "provider", ID: p.ID, Name: p.Name, Detail: d})
		}
	}
	ms, err := s.Store.WaterManagers(ctx, f)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if directory.Match(query, m.SearchFields()...) {
			out = append(out, Hit{Kind: "manager", ID: m.Enterprise, Name: m.Name, Detail: m.Enterprise})
		}
	}
	return out, nil
}
