package hj212

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// China is the zone HJ 212 times are written in (Beijing time, UTC+8, no daylight saving).
var China = time.FixedZone("CST", 8*3600)

// Field is one key=value of a data area, as written.
type Field struct {
	Key, Value string
}

// ParseCP splits a data area into its fields in order: items are separated by ";", an item's
// sub-values by ",", a key from its value by the first "=" (§6.3.3). It never splits on "&&".
func ParseCP(cp string) ([]Field, error) {
	if cp == "" {
		return nil, nil
	}
	var out []Field
	for item := range strings.SplitSeq(cp, ";") {
		for kv := range strings.SplitSeq(item, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("data area: %q is not key=value", kv)
			}
			out = append(out, Field{k, v})
		}
	}
	return out, nil
}

// Data is what a data area states: its time and the numbers and flags of its fields.
type Data struct {
	// Time is DataTime in Beijing time: the sampling instant for real-time data (2011, 2021), the
	// start of the period for minute, hour and day data (2051, 2061, 2031, 2041). Zero when the
	// data area has no DataTime.
	Time time.Time
	// Values maps each numeric field to its number, keyed as written ("w00000-Avg",
	// "RtdInterval").
	Values map[string]float64
	// Flags maps each value of a pollutant code to the code's data flag (Table 8): with
	// "w00000-Flag=N" every "w00000-…" value has flag "N".
	Flags map[string]string
}

// textSuffixes are the item suffixes whose values are not numbers (§6.3.3 and Table C items).
var textSuffixes = map[string]bool{"Flag": true, "EFlag": true, "SampleTime": true, "Info": true, "SN": true}

// textKeys are the data-area keys without a code whose values are not numbers.
var textKeys = map[string]bool{
	"DataTime": true, "BeginTime": true, "EndTime": true, "SystemTime": true, "RestartTime": true,
	"PolId": true, "NewPW": true, "InfoId": true, "SamplingTime": true,
}

// ParseData reads a data area's fields into Data. Values of measurement fields must be decimal
// numbers; the error names the field. Flags are attached to the values of their code.
func ParseData(cp string) (Data, error) {
	fields, err := ParseCP(cp)
	if err != nil {
		return Data{}, err
	}
	d := Data{Values: map[string]float64{}, Flags: map[string]string{}}
	codeFlag := map[string]string{}
	for _, f := range fields {
		if _, dup := d.Values[f.Key]; dup {
			return Data{}, fmt.Errorf("data area: field %s twice", f.Key)
		}
		code, suffix, coded := strings.Cut(f.Key, "-")
		switch {
		case f.Key == "DataTime":
			if !d.Time.IsZero() {
				return Data{}, errors.New("data area: DataTime twice")
			}
			t, err := ParseTime(f.Value)
			if err != nil {
				return Data{}, fmt.Errorf("data area: DataTime: %w", err)
			}
			d.Time = t
		case coded && suffix == "Flag":
			if f.Value == "" {
				return Data{}, fmt.Errorf("data area: %s is empty", f.Key)
			}
			codeFlag[code] = f.Value
		case coded && textSuffixes[suffix], !coded && textKeys[f.Key]:
			// text, not a value
		default:
			v, err := ParseNumber(f.Value)
			if err != nil {
				return Data{}, fmt.Errorf("data area: %s: %w", f.Key, err)
			}
			d.Values[f.Key] = v
		}
	}
	for k := range d.Values {
		if code, _, ok := strings.Cut(k, "-"); ok {
			if fl, ok := codeFlag[code]; ok {
				d.Flags[k] = fl
			}
		}
	}
	return d, nil
}

// ParseNumber reads a value written as HJ 212's numeric types (Nx.y): an optional sign, digits,
// an optional decimal point with digits. Exponents, hexadecimal, NaN and infinities are refused.
func ParseNumber(s string) (float64, error) {
	body := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	intPart, frac, _ := strings.Cut(body, ".")
	if body == "" || len(s) > 32 || !allDigits(intPart) || !allDigits(frac) || intPart == "" && frac == "" {
		return 0, fmt.Errorf("%q is not a decimal number", s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a decimal number", s)
	}
	return v, nil
}

// ParseTime reads a time written YYYYMMDDhhmmss, or YYYYMMDDhhmmsszzz with milliseconds, in
// Beijing time.
func ParseTime(s string) (time.Time, error) {
	if (len(s) != 14 && len(s) != 17) || !allDigits(s) {
		return time.Time{}, fmt.Errorf("%q is not YYYYMMDDhhmmss", s)
	}
	t, err := time.ParseInLocation("20060102150405", s[:14], China)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a valid time: %w", s, err)
	}
	if len(s) == 17 {
		ms, _ := strconv.Atoi(s[14:])
		t = t.Add(time.Duration(ms) * time.Millisecond)
	}
	return t, nil
}

// FormatTime writes t in Beijing time as YYYYMMDDhhmmss (DataTime, SystemTime).
func FormatTime(t time.Time) string { return t.In(China).Format("20060102150405") }

// FormatQN writes t in Beijing time as a request number YYYYMMDDhhmmsszzz.
func FormatQN(t time.Time) string {
	t = t.In(China)
	return t.Format("20060102150405") + fmt.Sprintf("%03d", t.Nanosecond()/1e6)
}
