package contract

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/shuixiao/shuixiao/certificate"
)

// Statement is the measurement-and-verification statement of one reporting
// period of a contract: the figures a water-rights certificate points at,
// sealed by the SHA-256 digest of their canonical JSON (Canonical).
type Statement struct {
	ID                 string    `json:"id"`         // "mvs-" + first 16 hex of Digest
	Contract           string    `json:"contract"`   // contract ID
	Enterprise         string    `json:"enterprise"` // enterprise ID
	From               time.Time `json:"from"`       // reporting period [From, To)
	To                 time.Time `json:"to"`
	AdjustedBaselineM3 float64   `json:"adjusted_baseline_m3"`
	ReportingM3        float64   `json:"reporting_m3"`
	SavingsM3          float64   `json:"savings_m3"`
	UncertaintyM3      float64   `json:"uncertainty_m3"` // 90 % (Guideline 14)
	MeetsGuideline14   bool      `json:"meets_guideline14"`
	CheckpointSize     uint64    `json:"checkpoint_size"` // ledger size the metered data were read at
	CheckpointRoot     string    `json:"checkpoint_root"` // hex root hash of that checkpoint
	Digest             string    `json:"digest"`          // hex SHA-256 of Canonical
}

// canonical is the statement without ID and Digest, keys in byte order;
// times are UTC RFC 3339 strings.
type canonical struct {
	AdjustedBaselineM3 float64 `json:"adjusted_baseline_m3"`
	CheckpointRoot     string  `json:"checkpoint_root"`
	CheckpointSize     uint64  `json:"checkpoint_size"`
	Contract           string  `json:"contract"`
	Enterprise         string  `json:"enterprise"`
	From               string  `json:"from"`
	MeetsGuideline14   bool    `json:"meets_guideline14"`
	ReportingM3        float64 `json:"reporting_m3"`
	SavingsM3          float64 `json:"savings_m3"`
	To                 string  `json:"to"`
	UncertaintyM3      float64 `json:"uncertainty_m3"`
}

// Canonical is the statement's canonical JSON: every field but ID and
// Digest, as one JSON object with its keys in byte order, no white space,
// times as UTC RFC 3339 (nanoseconds when not zero), numbers as Go's
// encoding/json writes a float64 (the shortest decimal that reads back to
// the same value; ES6 number formatting).
func (s Statement) Canonical() ([]byte, error) {
	for _, v := range []float64{s.AdjustedBaselineM3, s.ReportingM3, s.SavingsM3, s.UncertaintyM3} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errors.New("statement: a figure is not a finite number")
		}
	}
	return json.Marshal(canonical{
		AdjustedBaselineM3: s.AdjustedBaselineM3, CheckpointRoot: s.CheckpointRoot, CheckpointSize: s.CheckpointSize,
		Contract: s.Contract, Enterprise: s.Enterprise, From: s.From.UTC().Format(time.RFC3339Nano),
		MeetsGuideline14: s.MeetsGuideline14, ReportingM3: s.ReportingM3, SavingsM3: s.SavingsM3,
		To: s.To.UTC().Format(time.RFC3339Nano), UncertaintyM3: s.UncertaintyM3,
	})
}

// Seal sets Digest and ID from the other fields.
func (s *Statement) Seal() error {
	b, err := s.Canonical()
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	s.Digest = hex.EncodeToString(sum[:])
	s.ID = "mvs-" + s.Digest[:16]
	return nil
}

// CheckSeal reports whether Digest and ID are those of the other fields.
func (s Statement) CheckSeal() error {
	t := s
	if err := t.Seal(); err != nil {
		return err
	}
	if t.Digest != s.Digest {
		return fmt.Errorf("statement %s: digest %s, but its figures hash to %s", s.ID, s.Digest, t.Digest)
	}
	if t.ID != s.ID {
		return fmt.Errorf("statement %s: the ID of digest %s is %s", s.ID, s.Digest, t.ID)
	}
	return nil
}

// Verifiable reports whether the saving is proven: the model meets
// Guideline 14 and the saving exceeds its uncertainty by at least 1 m³
// (certificate.Allowance).
func (s Statement) Verifiable() bool {
	_, err := certificate.Allowance(s.MeetsGuideline14, s.SavingsM3, s.UncertaintyM3)
	return err == nil
}

// Issuable is the volume (m³) certificates may carry in total for the
// statement: certificate.Allowance — floor(savings − uncertainty) when
// Verifiable —, else 0. The rule has its home there, where the ledger's
// fold applies it.
func (s Statement) Issuable() float64 {
	a, err := certificate.Allowance(s.MeetsGuideline14, s.SavingsM3, s.UncertaintyM3)
	if err != nil {
		return 0
	}
	return float64(a)
}

// PeriodFigures are one model period's figures in a statement record.
type PeriodFigures struct {
	Label    string             `json:"label"`
	From     time.Time          `json:"from"`
	To       time.Time          `json:"to"`
	IntakeM3 float64            `json:"intake_m3"` // metered (ledger-backed)
	Drivers  map[string]float64 `json:"drivers"`
	ModelM3  float64            `json:"model_m3"`                // the baseline model's intake for the period
	Coverage float64            `json:"coverage"`                // least fraction of valid hours over the boundary's points
	Adjusted float64            `json:"adjustment_m3,omitempty"` // non-routine adjustment of a reporting period
}

// Adjustment is a non-routine adjustment (IPMVP) of one reporting model
// period, with its reason and who recorded it.
type Adjustment struct {
	Period string    `json:"period"` // model period label
	M3     float64   `json:"m3"`
	Reason string    `json:"reason"`
	By     string    `json:"by,omitempty"`
	At     time.Time `json:"at,omitzero"`
}

// Record is a statement with everything it was computed from and the fit:
// what the platform serves, stores and `verify savings` recomputes.
type Record struct {
	Statement   Statement   `json:"statement"`
	Option      Option      `json:"option"`
	Points      []string    `json:"points,omitempty"` // the boundary's points (option C: every intake point)
	Granularity Granularity `json:"granularity"`
	Drivers     []Driver    `json:"drivers"`
	// Model: coefficient by driver name and "intercept".
	Model            map[string]float64 `json:"model"`
	CVRMSE           float64            `json:"cv_rmse"`
	NMBE             float64            `json:"nmbe"`
	R2               float64            `json:"r2"`
	LimitCVRMSE      float64            `json:"limit_cv_rmse"`
	LimitNMBE        float64            `json:"limit_nmbe"`
	T                float64            `json:"t_statistic"`
	Autocorrelation  float64            `json:"residual_autocorrelation"`
	UncertaintyAuto  *float64           `json:"uncertainty_autocorrelated_m3,omitempty"`
	RoutineM3        float64            `json:"routine_baseline_m3"`
	NonRoutineM3     float64            `json:"non_routine_m3"`
	ServiceCompanyM3 float64            `json:"service_company_m3"` // the service company's share of the saving
	EnterpriseM3     float64            `json:"enterprise_m3"`
	Baseline         []PeriodFigures    `json:"baseline"`
	Reporting        []PeriodFigures    `json:"reporting"`
	Adjustments      []Adjustment       `json:"adjustments"`
	// LedgerSize and LedgerSizeAfter are the store's ledger size before and
	// after the read (equal: the data were exactly the entries below it).
	LedgerSize      uint64    `json:"ledger_size"`
	LedgerSizeAfter uint64    `json:"ledger_size_after"`
	Warnings        []string  `json:"warnings,omitempty"`
	CreatedBy       string    `json:"created_by,omitempty"`
	CreatedAt       time.Time `json:"created_at,omitzero"`
}
