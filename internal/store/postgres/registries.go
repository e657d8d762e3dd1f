package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shuixiao/shuixiao/directory"
	"github.com/shuixiao/shuixiao/evaluate"
	"github.com/shuixiao/shuixiao/internal/store"
)

// registriesDDL holds the plan's registries (package directory) and the
// evaluation's declared answers (evaluate.Answer), as store/sqlite keeps
// them: managers and providers as their JSON records.
const registriesDDL = `
CREATE TABLE IF NOT EXISTS water_managers (
	enterprise TEXT COLLATE "C" PRIMARY KEY,
	body       JSONB NOT NULL
);
CREATE TABLE IF NOT EXISTS service_providers (
	id   TEXT COLLATE "C" PRIMARY KEY,
	body JSONB NOT NULL
);
CREATE TABLE IF NOT EXISTS quota_case_links (
	qcase      BIGINT PRIMARY KEY,
	provider   TEXT COLLATE "C" NOT NULL,
	technology TEXT COLLATE "C" NOT NULL,
	note       TEXT NOT NULL,
	linked_by  TEXT NOT NULL,
	linked_at  BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS evaluation_answers (
	id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	enterprise  TEXT COLLATE "C" NOT NULL,
	requirement TEXT COLLATE "C" NOT NULL,
	met         BOOLEAN NOT NULL,
	note        TEXT NOT NULL,
	answered_by TEXT NOT NULL,
	answered_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS evaluation_answers_enterprise ON evaluation_answers(enterprise, id);
`

func init() {
	featureDDL = append(featureDDL, registriesDDL)
	for table, id := range map[string]string{"water_managers": "", "service_providers": "", "quota_case_links": "", "evaluation_answers": "id"} {
		importable[table] = id
	}
}

var (
	_ store.Directory         = (*Store)(nil)
	_ store.EvaluationAnswers = (*Store)(nil)
)

// mustExist returns notFound unless the row of table with this id exists.
func mustExist(ctx context.Context, tx pgx.Tx, table, id string, notFound error) error {
	ok, err := exists(ctx, tx, table, "id", id)
	if err == nil && !ok {
		err = notFound
	}
	return err
}

// PutWaterManager implements store.Directory.
func (s *Store) PutWaterManager(ctx context.Context, m directory.Manager) error {
	if err := store.Invalid(m.Validate()); err != nil {
		return err
	}
	body, _ := json.Marshal(m)
	err := s.withWrite(ctx, func(tx pgx.Tx) error {
		if err := mustExist(ctx, tx, "enterprises", m.Enterprise, fmt.Errorf("enterprise %s: %w", m.Enterprise, store.ErrNotFound)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO water_managers(enterprise, body) VALUES ($1, $2)
			ON CONFLICT (enterprise) DO UPDATE SET body = excluded.body`, m.Enterprise, string(body))
		return err
	})
	if err != nil {
		return fmt.Errorf("water manager of %s: %w", m.Enterprise, err)
	}
	return nil
}

// WaterManagers implements store.Directory.
func (s *Store) WaterManagers(ctx context.Context, f store.Filter) ([]directory.Manager, error) {
	w := &where{}
	w.add("e.region LIKE ?", store.RegionPrefix(f.Region))
	w.add("e.park = ?", f.Park)
	w.add("e.id = ?", f.Enterprise)
	return list(ctx, s, "water managers", `SELECT m.body::text FROM water_managers m JOIN enterprises e ON e.id = m.enterprise`+w.String()+` ORDER BY m.enterprise`, w.args,
		scanBody[directory.Manager])
}

func scanBody[T any](r pgx.Rows) (T, error) {
	var v T
	var body string
	if err := r.Scan(&body); err != nil {
		return v, err
	}
	return v, json.Unmarshal([]byte(body), &v)
}

// PutProvider implements store.Directory.
func (s *Store) PutProvider(ctx context.Context, p directory.Provider, create bool) error {
	if err := store.Invalid(p.Validate()); err != nil {
		return err
	}
	check := func(tx pgx.Tx) error {
		for i, sv := range p.Served {
			if err := mustExist(ctx, tx, "enterprises", sv.Enterprise, fmt.Errorf("field served[%d].enterprise: enterprise %s: %w", i, sv.Enterprise, store.ErrNotFound)); err != nil {
				return err
			}
		}
		return nil
	}
	body, _ := json.Marshal(p)
	return s.put(ctx, create, "service provider", "service_providers", p.ID, check, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO service_providers(id, body) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET body = excluded.body`, p.ID, string(body))
		return err
	})
}

// Provider implements store.Directory.
func (s *Store) Provider(ctx context.Context, id string) (directory.Provider, error) {
	ps, err := list(ctx, s, "service providers", `SELECT body::text FROM service_providers WHERE id = $1`, []any{id}, scanBody[directory.Provider])
	if err != nil {
		return directory.Provider{}, err
	}
	if len(ps) == 0 {
		return directory.Provider{}, fmt.Errorf("service provider %s: %w", id, store.ErrNotFound)
	}
	return ps[0], nil
}

// Providers implements store.Directory.
func (s *Store) Providers(ctx context.Context) ([]directory.Provider, error) {
	return list(ctx, s, "service providers", `SELECT body::text FROM service_providers ORDER BY id`, nil, scanBody[directory.Provider])
}

// LinkQuotaCase implements store.Directory.
func (s *Store) LinkQuotaCase(ctx context.Context, l directory.CaseLink) error {
	if err := store.Invalid(l.Validate()); err != nil {
		return err
	}
	err := s.withWrite(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM quota_cases WHERE id = $1`, l.Case).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("field case: retrofit case %d: %w", l.Case, store.ErrNotFound)
		} else if err != nil {
			return err
		}
		if l.Provider != "" {
			if err := mustExist(ctx, tx, "service_providers", l.Provider, fmt.Errorf("field provider: service provider %s: %w", l.Provider, store.ErrNotFound)); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO quota_case_links(qcase, provider, technology, note, linked_by, linked_at) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (qcase) DO UPDATE SET provider = excluded.provider, technology = excluded.technology, note = excluded.note,
				linked_by = excluded.linked_by, linked_at = excluded.linked_at`,
			l.Case, l.Provider, l.Technology, l.Note, l.LinkedBy, l.LinkedAt.UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("link of case %d: %w", l.Case, err)
	}
	return nil
}

// QuotaCaseLinks implements store.Directory.
func (s *Store) QuotaCaseLinks(ctx context.Context, cases ...int64) ([]directory.CaseLink, error) {
	q := `SELECT qcase, provider, technology, note, linked_by, linked_at FROM quota_case_links`
	var args []any
	if len(cases) > 0 {
		q += ` WHERE qcase = ANY($1)`
		args = append(args, cases)
	}
	return list(ctx, s, "case links", q+` ORDER BY qcase`, args, func(r pgx.Rows) (directory.CaseLink, error) {
		var l directory.CaseLink
		var at int64
		err := r.Scan(&l.Case, &l.Provider, &l.Technology, &l.Note, &l.LinkedBy, &at)
		l.LinkedAt = time.UnixMilli(at)
		return l, err
	})
}

// AddEvaluationAnswers implements store.EvaluationAnswers.
func (s *Store) AddEvaluationAnswers(ctx context.Context, as []evaluate.Answer) ([]int64, error) {
	for i, a := range as {
		if err := a.Validate(); err != nil {
			return nil, fmt.Errorf("answer %d: %w", i+1, store.Invalid(err))
		}
	}
	ids := make([]int64, len(as))
	err := s.withWrite(ctx, func(tx pgx.Tx) error {
		for i, a := range as {
			if err := mustExist(ctx, tx, "enterprises", a.Enterprise, fmt.Errorf("answer %d: enterprise %s: %w", i+1, a.Enterprise, store.ErrNotFound)); err != nil {
				return err
			}
			err := tx.QueryRow(ctx, `INSERT INTO evaluation_answers(enterprise, requirement, met, note, answered_by, answered_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
				a.Enterprise, a.Requirement, a.Met, a.Note, a.AnsweredBy, a.AnsweredAt.UnixMilli()).Scan(&ids[i])
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("add evaluation answers: %w", err)
	}
	return ids, nil
}

// EvaluationAnswers implements store.EvaluationAnswers.
func (s *Store) EvaluationAnswers(ctx context.Context, enterprise string) ([]evaluate.Answer, error) {
	return list(ctx, s, "evaluation answers", `SELECT id, enterprise, requirement, met, note, answered_by, answered_at FROM evaluation_answers WHERE enterprise = $1 ORDER BY id`,
		[]any{enterprise}, func(r pgx.Rows) (evaluate.Answer, error) {
			var a evaluate.Answer
			var at int64
			err := r.Scan(&a.ID, &a.Enterprise, &a.Requirement, &a.Met, &a.Note, &a.AnsweredBy, &at)
			a.AnsweredAt = time.UnixMilli(at)
			return a, err
		})
}
