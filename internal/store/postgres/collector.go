package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// collectorDDL adds the data collector a meter is registered behind
// (meter.Meter.Collector) to stores made before it existed.
const collectorDDL = `ALTER TABLE meters ADD COLUMN IF NOT EXISTS collector TEXT COLLATE "C" NOT NULL DEFAULT '';`

// gatewaySecretsDDL lets device_secrets hold a gateway's MQTT password
// too (SetDeviceSecret checks that the device is a meter or a gateway):
// stores made before had a foreign key to meters only.
const gatewaySecretsDDL = `ALTER TABLE device_secrets DROP CONSTRAINT IF EXISTS device_secrets_meter_fkey;`

func init() { featureDDL = append(featureDDL, collectorDDL, gatewaySecretsDDL) }

// ImportCollectors sets the data collector of imported meters (SQLite keeps
// them in a table of their own, meter_collectors): ids[i] is behind
// collectors[i]. It returns how many meters it set; a meter not imported
// is not counted, so the migration's counts name it.
func (s *Store) ImportCollectors(ctx context.Context, ids, collectors []string) (int64, error) {
	if len(ids) != len(collectors) {
		return 0, fmt.Errorf("import collectors: %d meters, %d collectors", len(ids), len(collectors))
	}
	var n int64
	err := s.withWrite(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE meters m SET collector = v.collector
			FROM unnest($1::text[], $2::text[]) AS v(id, collector) WHERE m.id = v.id`, ids, collectors)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("import collectors: %w", err)
	}
	return n, nil
}
