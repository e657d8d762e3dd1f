package postgres

import (
	"context"
	"fmt"
	"time"
)

// firstReadingDDL adds each meter's earliest reading to its admission
// state: first_t is the least device time (ms) of the meter's stored
// readings, kept by Commit in the statement that moves the state; NULL when
// unknown (a row from before the column), and then read from the readings.
// Readings are never deleted, so it is never later than the earliest.
const firstReadingDDL = `ALTER TABLE meter_state ADD COLUMN IF NOT EXISTS first_t BIGINT;`

func init() { featureDDL = append(featureDDL, firstReadingDDL) }

// firstTimes is the earliest device time of each meter's rows.
func firstTimes(rows []row) map[int32]int64 {
	out := map[int32]int64{}
	for _, r := range rows {
		if t, ok := out[r.mid]; !ok || r.t < t {
			out[r.mid] = r.t
		}
	}
	return out
}

// FirstReadings implements store.FirstReader from the admission state: a
// meter has readings if and only if it has a state row, written in the
// same transaction; its first_t, or where unknown its earliest reading
// (index readings_time, one probe a partition).
func (s *Store) FirstReadings(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.pool.Query(ctx, `SELECT m.point, min(COALESCE(st.first_t,
			(SELECT r.t FROM readings r WHERE r.meter = st.meter ORDER BY r.t LIMIT 1)))
		FROM meter_state st JOIN meters m ON m.mid = st.meter
		GROUP BY m.point`)
	if err != nil {
		return nil, fmt.Errorf("postgres: first readings: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var (
			point string
			t     *int64
		)
		if err := rows.Scan(&point, &t); err != nil {
			return nil, fmt.Errorf("postgres: first readings: %w", err)
		}
		if t != nil {
			out[point] = time.UnixMilli(*t)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: first readings: %w", err)
	}
	return out, nil
}
