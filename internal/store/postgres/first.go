package postgres

import (
	"context"
	"fmt"
	"time"
)

// FirstReadings implements store.FirstReader: each meter's earliest
// reading by device time, one probe of index readings_time a meter and
// partition.
func (s *Store) FirstReadings(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.pool.Query(ctx, `SELECT m.point, min(f.t) FROM meters m
		CROSS JOIN LATERAL (SELECT r.t FROM readings r WHERE r.meter = m.mid ORDER BY r.t LIMIT 1) f
		GROUP BY m.point`)
	if err != nil {
		return nil, fmt.Errorf("postgres: first readings: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var (
			point string
			t     int64
		)
		if err := rows.Scan(&point, &t); err != nil {
			return nil, fmt.Errorf("postgres: first readings: %w", err)
		}
		out[point] = time.UnixMilli(t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: first readings: %w", err)
	}
	return out, nil
}
