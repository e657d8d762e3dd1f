package sqlite

import (
	"context"
	"fmt"
	"time"
)

// FirstReadings implements store.FirstReader: each meter's earliest chunk
// day (index chunks_time) and the least t_min of that day's chunks, and its
// earliest head reading; the head is read first, so that a reading
// compacted meanwhile is found in the chunks.
func (s *Store) FirstReadings(ctx context.Context) (map[string]time.Time, error) {
	hot := s.head.earliest()
	rows, err := s.r.QueryContext(ctx, `SELECT m.mid, m.point,
		(SELECT MIN(c.t_min) FROM chunks c WHERE c.meter = m.mid
			AND c.day = (SELECT MIN(d.day) FROM chunks d WHERE d.meter = m.mid))
		FROM meters m`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: first readings: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var (
			mid   int64
			point string
			t     *int64
		)
		if err := rows.Scan(&mid, &point, &t); err != nil {
			return nil, fmt.Errorf("sqlite: first readings: %w", err)
		}
		if h, ok := hot[mid]; ok && (t == nil || h < *t) {
			t = &h
		}
		if t == nil {
			continue
		}
		if f, ok := out[point]; !ok || time.UnixMilli(*t).Before(f) {
			out[point] = time.UnixMilli(*t)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: first readings: %w", err)
	}
	return out, nil
}
