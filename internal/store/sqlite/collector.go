package sqlite

// collectorDDL keeps the data collector a meter is registered behind
// (meter.Meter.Collector) beside the meters table, so that it needs no
// schema step; a meter without a row has none.
const collectorDDL = `
CREATE TABLE IF NOT EXISTS meter_collectors (
	id        TEXT PRIMARY KEY,
	collector TEXT NOT NULL
) WITHOUT ROWID;
`

func init() { featureDDL = append(featureDDL, collectorDDL) }
