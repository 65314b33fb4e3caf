package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTick is the unit of the CPU times in /proc/PID/stat: USER_HZ, 100 on
// every Linux architecture Go runs on.
const clockTick = 10 * time.Millisecond

// procSample is what the benchmark reads of a running process from /proc.
type procSample struct {
	// RSS is the resident memory (VmRSS), HWM its peak so far (VmHWM).
	RSS, HWM int64
	// CPU is the user and system time of all its threads.
	CPU time.Duration
}

// readProc reads the memory and CPU time of process pid.
func readProc(pid int) (procSample, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procSample{}, err
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procSample{}, err
	}
	var s procSample
	if s.RSS, s.HWM, err = parseStatus(status); err != nil {
		return procSample{}, fmt.Errorf("/proc/%d/status: %w", pid, err)
	}
	if s.CPU, err = parseStatCPU(stat); err != nil {
		return procSample{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return s, nil
}

// parseStatus returns VmRSS and VmHWM of a /proc/PID/status, in bytes.
func parseStatus(data []byte) (rss, hwm int64, err error) {
	found := 0
	for line := range bytes.Lines(data) {
		name, rest, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		var dst *int64
		switch string(name) {
		case "VmRSS":
			dst = &rss
		case "VmHWM":
			dst = &hwm
		default:
			continue
		}
		fields := bytes.Fields(rest)
		if len(fields) != 2 || string(fields[1]) != "kB" {
			return 0, 0, fmt.Errorf("%s: unexpected %q", name, bytes.TrimSpace(rest))
		}
		kb, err := strconv.ParseInt(string(fields[0]), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", name, err)
		}
		*dst = kb << 10
		found++
	}
	if found != 2 {
		return 0, 0, fmt.Errorf("VmRSS or VmHWM missing")
	}
	return rss, hwm, nil
}

// parseStatCPU returns utime + stime of a /proc/PID/stat. The command name,
// field 2, is in parentheses and may hold spaces and parentheses itself, so
// the fields are counted from the last ')'.
func parseStatCPU(data []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("no command name")
	}
	// After the name: state (field 3) … utime (14), stime (15).
	fields := bytes.Fields(data[i+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("%d fields after the command name, want at least 13", len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(string(f), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("utime/stime: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}
