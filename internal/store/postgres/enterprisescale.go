package postgres

// enterpriseScaleDDL adds an enterprise's above-scale flag
// (meter.Enterprise.AboveScale) to stores made before it existed.
const enterpriseScaleDDL = `ALTER TABLE enterprises ADD COLUMN IF NOT EXISTS above_scale BOOLEAN NOT NULL DEFAULT false;`

func init() { featureDDL = append(featureDDL, enterpriseScaleDDL) }
