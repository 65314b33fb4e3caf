package main

import (
	"bytes"
	"strconv"
	"strings"
)

// metricSum returns the sum of the samples of the metric name in a
// Prometheus text exposition whose labels include every pair of match, and
// whether there was any.
func metricSum(text []byte, name string, match map[string]string) (float64, bool) {
	var sum float64
	found := false
	for line := range bytes.Lines(text) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' || !bytes.HasPrefix(line, []byte(name)) {
			continue
		}
		rest := string(line[len(name):])
		var labels map[string]string
		switch {
		case strings.HasPrefix(rest, "{"):
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				continue
			}
			var ok bool
			if labels, ok = parseLabels(rest[1:end]); !ok {
				continue
			}
			rest = rest[end+1:]
		case strings.HasPrefix(rest, " "):
		default:
			continue // another metric whose name starts with name
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		if !labelsInclude(labels, match) {
			continue
		}
		sum += v
		found = true
	}
	return sum, found
}

// parseLabels parses `a="x",b="y"` with the escapes of the text format.
func parseLabels(s string) (map[string]string, bool) {
	out := map[string]string{}
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), ",")) {
		eq := strings.IndexByte(s, '=')
		if eq < 0 || len(s) < eq+2 || s[eq+1] != '"' {
			return nil, false
		}
		key := strings.TrimSpace(s[:eq])
		var val strings.Builder
		i := eq + 2
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				switch s[i] {
				case 'n':
					val.WriteByte('\n')
				default:
					val.WriteByte(s[i])
				}
				continue
			}
			val.WriteByte(s[i])
		}
		if i >= len(s) {
			return nil, false
		}
		out[key] = val.String()
		s = s[i+1:]
	}
	return out, true
}

func labelsInclude(labels, match map[string]string) bool {
	for k, v := range match {
		if labels[k] != v {
			return false
		}
	}
	return true
}
