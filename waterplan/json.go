package waterplan

import (
	"encoding/json"
	"math"
)

// JSONRatio is a share or a tier bound as JSON: the number, or the string
// "inf" for +Inf (a use against a plan of nothing, the last tier's open
// bound), which JSON numbers cannot carry. Schedules are read the same way.
func JSONRatio(v float64) any {
	if math.IsInf(v, 1) {
		return "inf"
	}
	return v
}

// MarshalJSON writes Share with JSONRatio.
func (m MonthStatus) MarshalJSON() ([]byte, error) {
	type plain MonthStatus
	return json.Marshal(struct {
		plain
		Share any `json:"share"`
	}{plain(m), JSONRatio(m.Share)})
}

// MarshalJSON writes UpTo with JSONRatio.
func (t TierVolume) MarshalJSON() ([]byte, error) {
	type plain TierVolume
	return json.Marshal(struct {
		plain
		UpTo any `json:"up_to"`
	}{plain(t), JSONRatio(t.UpTo)})
}

// MarshalJSON writes UpTo with JSONRatio.
func (t Tier) MarshalJSON() ([]byte, error) {
	type plain Tier
	return json.Marshal(struct {
		plain
		UpTo any `json:"up_to"`
	}{plain(t), JSONRatio(t.UpTo)})
}

// MarshalJSON writes the shares with JSONRatio.
func (s Status) MarshalJSON() ([]byte, error) {
	type plain Status
	return json.Marshal(struct {
		plain
		ShareToDate any `json:"share_to_date"`
		ShareAnnual any `json:"share_annual"`
	}{plain(s), JSONRatio(s.ShareToDate), JSONRatio(s.ShareAnnual)})
}

// MarshalJSON writes Share with JSONRatio.
func (c Crossing) MarshalJSON() ([]byte, error) {
	type plain Crossing
	return json.Marshal(struct {
		plain
		Share any `json:"share"`
	}{plain(c), JSONRatio(c.Share)})
}
