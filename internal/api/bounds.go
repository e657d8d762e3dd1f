package api

import (
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Bounds of what the API accepts as a number or a time. JSON cannot carry
// NaN or ±Inf, but it can carry 1e308, and a flow of 1e308 m³/h times the
// hours since year 1 is +Inf in every answer that derives from it; so every
// number in a request is checked, not only those a store would refuse.
const (
	// maxMagnitude bounds every float in a request body whose field has no
	// bounds tag: above any quantity the platform handles (a channel's
	// plausible maximum for a totaliser is 1e12 m³, meter/data/channels.csv),
	// far below where products and sums of such numbers overflow.
	maxMagnitude = 1e15
)

// Times outside [minTime, maxTime) are refused: a year-1 or year-9999 time
// only makes durations absurd. The window opens at the Unix epoch, which
// clients (the console among them) send to mean "from the beginning".
var (
	minTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// timeInWindow reports whether t lies in [minTime, maxTime).
func timeInWindow(t time.Time) bool { return !t.Before(minTime) && t.Before(maxTime) }

// checkTime refuses a time outside the window, naming the field.
func checkTime(field string, t time.Time) error {
	if timeInWindow(t) {
		return nil
	}
	return errorf(http.StatusBadRequest, "%s: %s is outside %d–%d (超出时间范围)", field, t.Format(time.RFC3339), minTime.Year(), maxTime.Year()-1)
}

// checkBounds walks a decoded request body and refuses the first number or
// time out of range with a 400 naming its field (by JSON name, with its
// path): every float must be finite and within its field's
// `bounds:"lo,hi"` tag, or ±maxMagnitude without one; integers are checked
// against a bounds tag where they have one; every non-zero time.Time must
// lie in [minTime, maxTime).
func checkBounds(v any) error {
	return walkBounds(reflect.ValueOf(v), "", "")
}

var timeType = reflect.TypeFor[time.Time]()

func walkBounds(v reflect.Value, path, bounds string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return walkBounds(v.Elem(), path, bounds)
	case reflect.Struct:
		if v.Type() == timeType {
			t := v.Interface().(time.Time)
			if t.IsZero() {
				return nil
			}
			return checkTime(path, t)
		}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() && !f.Anonymous {
				continue // encoding/json sets no unexported field but an embedded struct's
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			fieldPath := path
			if !f.Anonymous || name != "" {
				if name == "" {
					name = f.Name
				}
				fieldPath = joinPath(path, name)
			}
			if err := walkBounds(v.Field(i), fieldPath, f.Tag.Get("bounds")); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil // bytes (json.RawMessage): parsed and checked by their owner
		}
		for i := 0; i < v.Len(); i++ {
			if err := walkBounds(v.Index(i), fmt.Sprintf("%s[%d]", path, i), bounds); err != nil {
				return err
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if err := walkBounds(it.Value(), joinPath(path, fmt.Sprint(it.Key().Interface())), bounds); err != nil {
				return err
			}
		}
	case reflect.Float32, reflect.Float64:
		if bounds == "" {
			return checkNumber(path, v.Float(), -maxMagnitude, maxMagnitude)
		}
		return checkTagged(path, v.Float(), bounds)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if bounds != "" {
			return checkTagged(path, float64(v.Int()), bounds)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if bounds != "" {
			return checkTagged(path, float64(v.Uint()), bounds)
		}
	}
	return nil
}

// checkTagged checks x against a `bounds:"lo,hi"` tag. A malformed tag is a
// programming error: a 500, caught by the tests of the request type.
func checkTagged(field string, x float64, tag string) error {
	a, b, ok := strings.Cut(tag, ",")
	lo, err1 := strconv.ParseFloat(a, 64)
	hi, err2 := strconv.ParseFloat(b, 64)
	if !ok || err1 != nil || err2 != nil || !(lo <= hi) {
		return fmt.Errorf("api: field %s has a malformed bounds tag %q", field, tag)
	}
	return checkNumber(field, x, lo, hi)
}

// checkNumber refuses a number that is not finite or not in [lo, hi].
func checkNumber(field string, x, lo, hi float64) error {
	if math.IsNaN(x) || math.IsInf(x, 0) || x < lo || x > hi {
		return errorf(http.StatusBadRequest, "%s: %v is outside [%g, %g] (数值超出范围)", field, x, lo, hi)
	}
	return nil
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
