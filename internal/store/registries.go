package store

import (
	"context"
	"fmt"

	"github.com/shuixiao/shuixiao/directory"
	"github.com/shuixiao/shuixiao/evaluate"
)

// Directory keeps the plan's registries (package directory): enterprises'
// water managers, third-party service providers and the links of retrofit
// cases to a provider and a technology.
type Directory interface {
	// PutWaterManager stores an enterprise's water manager, replacing the
	// previous one. It must validate (ErrInvalid) and name a registered
	// enterprise (ErrNotFound).
	PutWaterManager(ctx context.Context, m directory.Manager) error
	// WaterManagers lists the managers of the enterprises f selects
	// (Region, Park, Enterprise), by enterprise.
	WaterManagers(ctx context.Context, f Filter) ([]directory.Manager, error)
	// PutProvider creates (create) or replaces a provider: ErrExists or
	// ErrNotFound otherwise. It must validate (ErrInvalid) and every
	// enterprise it served must be registered (ErrNotFound); nothing is
	// stored from a refused record.
	PutProvider(ctx context.Context, p directory.Provider, create bool) error
	// Provider returns one provider.
	Provider(ctx context.Context, id string) (directory.Provider, error)
	// Providers lists every provider by ID.
	Providers(ctx context.Context) ([]directory.Provider, error)
	// LinkQuotaCase stores the link of a retrofit case, replacing the
	// previous one. It must validate (ErrInvalid); the case and the
	// provider must exist (ErrNotFound).
	LinkQuotaCase(ctx context.Context, l directory.CaseLink) error
	// QuotaCaseLinks lists the links of the given cases (every link when
	// cases is empty), by case.
	QuotaCaseLinks(ctx context.Context, cases ...int64) ([]directory.CaseLink, error)
}

// EvaluationAnswers keeps the answers to the declared requirements of the
// water-saving enterprise evaluation (evaluate.Answer), every answer kept.
type EvaluationAnswers interface {
	// AddEvaluationAnswers stores answers all or nothing and returns their
	// IDs in order. Each must validate (ErrInvalid) and name a registered
	// enterprise (ErrNotFound).
	AddEvaluationAnswers(ctx context.Context, as []evaluate.Answer) ([]int64, error)
	// EvaluationAnswers lists an enterprise's answers, oldest first.
	EvaluationAnswers(ctx context.Context, enterprise string) ([]evaluate.Answer, error)
}

// Invalid marks a record's validation error as ErrInvalid for the drivers
// (nil stays nil).
func Invalid(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalid, err)
}
