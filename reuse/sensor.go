package reuse

import (
	"github.com/shuixiao/shuixiao/sensor"
)

// Reading, Alarm and Severity are the control packages' shared types.
type (
	Reading  = sensor.Reading
	Alarm    = sensor.Alarm
	Severity = sensor.Severity
)

// Alarm severities.
const (
	Warning  = sensor.Warning
	Critical = sensor.Critical
)
