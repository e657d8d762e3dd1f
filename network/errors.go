package network

import (
	"fmt"
	"strings"
)

// errorText gives EPANET's message for each error code it can raise on
// input data or while solving (EPANET 2.3.5 src/errors.dat).
var errorText = map[int]string{
	110: "cannot solve network hydraulic equations",
	200: "one or more errors in input file",
	201: "syntax error",
	202: "illegal numeric value",
	203: "undefined node",
	204: "undefined link",
	205: "undefined time pattern",
	206: "undefined curve",
	207: "attempt to control CV/GPV link",
	208: "illegal PDA pressure limits",
	209: "illegal node property value",
	211: "illegal link property value",
	212: "undefined trace node",
	213: "invalid option value",
	214: "too many characters in input line",
	215: "duplicate ID label",
	216: "reference to undefined pump",
	217: "invalid pump energy data",
	219: "illegal valve connection to tank node",
	220: "illegal valve connection to another valve",
	221: "mis-placed rule clause in rule-based control",
	222: "same start and end nodes for link",
	223: "not enough nodes in network",
	224: "no tanks or reservoirs in network",
	225: "invalid lower/upper levels for tank",
	226: "no head curve or power rating for pump",
	227: "invalid head curve for pump",
	230: "nonincreasing x-values for curve",
	231: "no data provided for curve",
	232: "no data provided for pattern",
	233: "network has unconnected nodes",
	234: "network has an unconnected node with ID",
	252: "invalid ID name",
	299: "invalid section keyword",
}

// ErrorMessage returns EPANET's text for an error code.
func ErrorMessage(code int) string {
	if m, ok := errorText[code]; ok {
		return m
	}
	return "unknown error"
}

// InputError is one problem found in a network: an EPANET error code, the
// input line it was found on (0 when it concerns the model as a whole),
// the section and the offending item.
type InputError struct {
	Code    int
	Line    int
	Section string // e.g. "PIPES", empty for whole-model checks
	Item    string // the offending token or object ID
	Detail  string // extra explanation, if any
}

// Error formats the problem as "error CODE: message ITEM in [SECTION] line N".
func (e *InputError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "error %d: %s", e.Code, ErrorMessage(e.Code))
	if e.Item != "" {
		fmt.Fprintf(&b, " %s", e.Item)
	}
	if e.Section != "" {
		fmt.Fprintf(&b, " in [%s]", e.Section)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d", e.Line)
	}
	if e.Detail != "" {
		fmt.Fprintf(&b, " (%s)", e.Detail)
	}
	return b.String()
}

// InputErrors lists every problem found, in file order. Like EPANET, the
// reader goes on after an error so that one run reports them all.
type InputErrors []*InputError

// Error reports the first problem and how many more there are.
func (es InputErrors) Error() string {
	switch len(es) {
	case 0:
		return "no errors"
	case 1:
		return es[0].Error()
	}
	return fmt.Sprintf("%s (and %d more errors)", es[0].Error(), len(es)-1)
}

// Unwrap exposes the individual errors to errors.Is and errors.As.
func (es InputErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}
