package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/directory"
	"github.com/shuixiao/shuixiao/evaluate"
	"github.com/shuixiao/shuixiao/internal/store"
)

// registriesDDL holds the plan's registries (package directory) and the
// evaluation's declared answers (evaluate.Answer). Managers and providers
// are kept as their JSON records; times are Unix milliseconds elsewhere.
const registriesDDL = `
CREATE TABLE IF NOT EXISTS water_managers (
	enterprise TEXT PRIMARY KEY,
	body       TEXT NOT NULL -- directory.Manager as JSON
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS service_providers (
	id   TEXT PRIMARY KEY,
	body TEXT NOT NULL -- directory.Provider as JSON
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS quota_case_links (
	qcase      INTEGER PRIMARY KEY,
	provider   TEXT NOT NULL,
	technology TEXT NOT NULL,
	note       TEXT NOT NULL,
	linked_by  TEXT NOT NULL,
	linked_at  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS evaluation_answers (
	id          INTEGER PRIMARY KEY,
	enterprise  TEXT NOT NULL,
	requirement TEXT NOT NULL,
	met         INTEGER NOT NULL,
	note        TEXT NOT NULL,
	answered_by TEXT NOT NULL,
	answered_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS evaluation_answers_enterprise ON evaluation_answers(enterprise, id);
`

func init() { featureDDL = append(featureDDL, registriesDDL) }

var (
	_ store.Directory         = (*Store)(nil)
	_ store.EvaluationAnswers = (*Store)(nil)
)

// PutWaterManager implements store.Directory.
func (s *Store) PutWaterManager(ctx context.Context, m directory.Manager) error {
	if err := store.Invalid(m.Validate()); err != nil {
		return err
	}
	err := s.withWrite(ctx, func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, "enterprises", m.Enterprise, fmt.Errorf("enterprise %s: %w", m.Enterprise, store.ErrNotFound)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO water_managers(enterprise, body) VALUES (?, ?)`, m.Enterprise, mustJSON(m))
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
	return listJSON[directory.Manager](ctx, s, "water managers",
		`SELECT m.body FROM water_managers m JOIN enterprises e ON e.id = m.enterprise`+w.String()+` ORDER BY m.enterprise`, w.args...)
}

// listJSON reads the JSON records one column of a query returns.
func listJSON[T any](ctx context.Context, s *Store, what, q string, args ...any) ([]T, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var body string
		var v T
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("list %s: %w", what, err)
		}
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			return nil, fmt.Errorf("list %s: %w", what, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// PutProvider implements store.Directory.
func (s *Store) PutProvider(ctx context.Context, p directory.Provider, create bool) error {
	if err := store.Invalid(p.Validate()); err != nil {
		return err
	}
	check := func(tx *sql.Tx) error {
		for i, sv := range p.Served {
			if err := mustExist(ctx, tx, "enterprises", sv.Enterprise, fmt.Errorf("field served[%d].enterprise: enterprise %s: %w", i, sv.Enterprise, store.ErrNotFound)); err != nil {
				return err
			}
		}
		return nil
	}
	return s.put(ctx, create, "service provider", "service_providers", p.ID, check, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO service_providers(id, body) VALUES (?, ?)`, p.ID, mustJSON(p))
		return err
	})
}

// Provider implements store.Directory.
func (s *Store) Provider(ctx context.Context, id string) (directory.Provider, error) {
	ps, err := listJSON[directory.Provider](ctx, s, "service providers", `SELECT body FROM service_providers WHERE id = ?`, id)
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
	return listJSON[directory.Provider](ctx, s, "service providers", `SELECT body FROM service_providers ORDER BY id`)
}

// LinkQuotaCase implements store.Directory.
func (s *Store) LinkQuotaCase(ctx context.Context, l directory.CaseLink) error {
	if err := store.Invalid(l.Validate()); err != nil {
		return err
	}
	err := s.withWrite(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM quota_cases WHERE id = ?`, l.Case).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("field case: retrofit case %d: %w", l.Case, store.ErrNotFound)
		} else if err != nil {
			return err
		}
		if l.Provider != "" {
			if err := mustExist(ctx, tx, "service_providers", l.Provider, fmt.Errorf("field provider: service provider %s: %w", l.Provider, store.ErrNotFound)); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO quota_case_links(qcase, provider, technology, note, linked_by, linked_at) VALUES (?, ?, ?, ?, ?, ?)`,
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
		q += ` WHERE qcase IN (?` + strings.Repeat(`, ?`, len(cases)-1) + `)`
		for _, c := range cases {
			args = append(args, c)
		}
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY qcase`, args...)
	if err != nil {
		return nil, fmt.Errorf("list case links: %w", err)
	}
	defer rows.Close()
	var out []directory.CaseLink
	for rows.Next() {
		var l directory.CaseLink
		var at int64
		if err := rows.Scan(&l.Case, &l.Provider, &l.Technology, &l.Note, &l.LinkedBy, &at); err != nil {
			return nil, fmt.Errorf("list case links: %w", err)
		}
		l.LinkedAt = time.UnixMilli(at)
		out = append(out, l)
	}
	return out, rows.Err()
}

// AddEvaluationAnswers implements store.EvaluationAnswers.
func (s *Store) AddEvaluationAnswers(ctx context.Context, as []evaluate.Answer) ([]int64, error) {
	for i, a := range as {
		if err := a.Validate(); err != nil {
			return nil, fmt.Errorf("answer %d: %w", i+1, store.Invalid(err))
		}
	}
	ids := make([]int64, len(as))
	err := s.withWrite(ctx, func(tx *sql.Tx) error {
		for i, a := range as {
			if err := mustExist(ctx, tx, "enterprises", a.Enterprise, fmt.Errorf("answer %d: enterprise %s: %w", i+1, a.Enterprise, store.ErrNotFound)); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO evaluation_answers(enterprise, requirement, met, note, answered_by, answered_at) VALUES (?, ?, ?, ?, ?, ?)`,
				a.Enterprise, a.Requirement, a.Met, a.Note, a.AnsweredBy, a.AnsweredAt.UnixMilli())
			if err != nil {
				return err
			}
			if ids[i], err = res.LastInsertId(); err != nil {
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
	rows, err := s.r.QueryContext(ctx, `SELECT id, enterprise, requirement, met, note, answered_by, answered_at FROM evaluation_answers WHERE enterprise = ? ORDER BY id`, enterprise)
	if err != nil {
		return nil, fmt.Errorf("list evaluation answers: %w", err)
	}
	defer rows.Close()
	var out []evaluate.Answer
	for rows.Next() {
		var a evaluate.Answer
		var at int64
		if err := rows.Scan(&a.ID, &a.Enterprise, &a.Requirement, &a.Met, &a.Note, &a.AnsweredBy, &at); err != nil {
			return nil, fmt.Errorf("list evaluation answers: %w", err)
		}
		a.AnsweredAt = time.UnixMilli(at)
		out = append(out, a)
	}
	return out, rows.Err()
}

// mustExist returns notFound unless the row of table with this id exists.
func mustExist(ctx context.Context, tx *sql.Tx, table, id string, notFound error) error {
	ok, err := exists(ctx, tx, table, "id", id)
	if err == nil && !ok {
		err = notFound
	}
	return err
}
