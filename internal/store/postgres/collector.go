package postgres

// collectorDDL adds the data collector a meter is registered behind
// (meter.Meter.Collector) to stores made before it existed.
const collectorDDL = `ALTER TABLE meters ADD COLUMN IF NOT EXISTS collector TEXT COLLATE "C" NOT NULL DEFAULT '';`

// gatewaySecretsDDL lets device_secrets hold a gateway's MQTT password
// too (SetDeviceSecret checks that the device is a meter or a gateway):
// stores made before had a foreign key to meters only.
const gatewaySecretsDDL = `ALTER TABLE device_secrets DROP CONSTRAINT IF EXISTS device_secrets_meter_fkey;`

func init() { featureDDL = append(featureDDL, collectorDDL, gatewaySecretsDDL) }
