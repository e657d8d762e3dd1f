package leak

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ReadGraphLinks reads the [PIPES], [PUMPS] and [VALVES] sections of an
// EPANET .inp file: all that the pipe graph needs. Other sections are
// skipped; comments (after ';'), CRLF line ends and non-UTF-8 bytes in IDs
// are accepted. Pipe lengths must be finite and non-negative.
//
// It is a stop-gap until package network's full reader is used here.
func ReadGraphLinks(r io.Reader) ([]GraphLink, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	section := ""
	var links []GraphLink
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if i := strings.IndexByte(text, ';'); i >= 0 {
			text = text[:i]
		}
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		if strings.HasPrefix(fields[0], "[") {
			section = strings.ToUpper(fields[0])
			continue
		}
		switch section {
		case "[PIPES]":
			if len(fields) < 4 {
				return nil, fmt.Errorf("inp line %d: [PIPES] needs ID, Node1, Node2, Length", line)
			}
			length, err := strconv.ParseFloat(fields[3], 64)
			if err != nil || length < 0 || length != length || length > 1e12 {
				return nil, fmt.Errorf("inp line %d: pipe %s: invalid length %q", line, fields[0], fields[3])
			}
			links = append(links, GraphLink{ID: fields[0], From: fields[1], To: fields[2], Length: length, IsPipe: true})
		case "[PUMPS]", "[VALVES]":
			if len(fields) < 3 {
				return nil, fmt.Errorf("inp line %d: %s needs ID, Node1, Node2", line, section)
			}
			links = append(links, GraphLink{ID: fields[0], From: fields[1], To: fields[2]})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("inp: %w", err)
	}
	if len(links) == 0 {
		return nil, fmt.Errorf("inp: no [PIPES], [PUMPS] or [VALVES] entries")
	}
	return links, nil
}
