package plant

import "time"

// Record is a plant's control configuration as a store keeps it: the JSON
// the API received, which package control defines and reads.
type Record struct {
	ID         string
	Enterprise string
	Config     []byte // JSON
	Updated    time.Time
}
