// Package registry reads the school registry from its files: CSV (the form a
// district office keeps in a spreadsheet) or YAML, with every problem
// reported at once, each with the file and line.
//
// It leaves out what a school is (engine.School, engine.Registry) and when the
// registry is read again (the composition root reloads it on SIGHUP).
package registry

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sanse-campus/sanse/engine"
)

func parseStage(s string) (engine.Stage, error) {
	if slices.Contains(engine.Stages, engine.Stage(s)) {
		return engine.Stage(s), nil
	}
	return "", fmt.Errorf("unknown stage %q, expected kindergarten, primary, junior, senior or vocational", s)
}

// Load reads a registry from a CSV (.csv) or YAML (.yaml, .yml) file.
// Every problem found is reported, each with the file and line.
func Load(path string) (*engine.Registry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open school registry: %w", err)
	}
	defer f.Close()
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return ParseCSV(path, f)
	case ".yaml", ".yml":
		return ParseYAML(path, f)
	}
	return nil, fmt.Errorf("school registry %s: unknown format, expected a .csv or .yaml file", path)
}

var requiredColumns = []string{"id", "name", "district", "town", "stage", "longitude", "latitude", "boarding"}

// ParseCSV parses a registry in CSV form. The header names the
// columns; id, name, district, town, stage, longitude, latitude and boarding
// are required; canteen (default true), water_bodies and connected (names
// separated by semicolons) are optional; others are ignored.
func ParseCSV(name string, r io.Reader) (*engine.Registry, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s:1: read header: %w", name, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	var errs []error
	for _, c := range requiredColumns {
		if _, ok := col[c]; !ok {
			errs = append(errs, fmt.Errorf("%s:1: missing column %q (required: %s)", name, c, strings.Join(requiredColumns, ",")))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var schools []engine.School
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// A malformed record has no fields whose position could be
			// asked (FieldPos panics): the line is the error's. Any other
			// error is the reader's and would come again.
			var perr *csv.ParseError
			if !errors.As(err, &perr) {
				errs = append(errs, fmt.Errorf("%s: read: %w", name, err))
				break
			}
			errs = append(errs, fmt.Errorf("%s:%d: %w", name, perr.StartLine, perr.Err))
			continue
		}
		line, _ := cr.FieldPos(0)
		get := func(c string) string {
			i, ok := col[c]
			if !ok || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		raw := rawSchool{
			ID: get("id"), Name: get("name"), District: get("district"), Town: get("town"), Stage: get("stage"),
			Longitude: get("longitude"), Latitude: get("latitude"), Boarding: get("boarding"), Canteen: get("canteen"),
		}
		if wb := get("water_bodies"); wb != "" {
			raw.WaterBodies = splitSemicolons(wb)
		}
		if c := get("connected"); c != "" {
			raw.Connected = splitSemicolons(c)
		}
		s, perr := raw.school()
		for _, e := range perr {
			errs = append(errs, fmt.Errorf("%s:%d: %w", name, line, e))
		}
		if len(perr) > 0 {
			continue
		}
		if first, dup := seen[s.ID]; dup {
			errs = append(errs, fmt.Errorf("%s:%d: duplicate school id %q (first on line %d)", name, line, s.ID, first))
			continue
		}
		seen[s.ID] = line
		schools = append(schools, s)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return engine.NewRegistry(schools)
}

// ParseYAML parses a registry in YAML form: a list of schools under
// the key `schools`, with the same fields as the CSV columns.
func ParseYAML(name string, r io.Reader) (*engine.Registry, error) {
	var doc struct {
		Schools []yaml.Node `yaml:"schools"`
	}
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var (
		errs    []error
		schools []engine.School
		seen    = map[string]int{}
	)
	for _, n := range doc.Schools {
		var raw rawSchool
		if err := n.Decode(&raw); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", name, n.Line, err))
			continue
		}
		s, perr := raw.school()
		for _, e := range perr {
			errs = append(errs, fmt.Errorf("%s:%d: %w", name, n.Line, e))
		}
		if len(perr) > 0 {
			continue
		}
		if first, dup := seen[s.ID]; dup {
			errs = append(errs, fmt.Errorf("%s:%d: duplicate school id %q (first on line %d)", name, n.Line, s.ID, first))
			continue
		}
		seen[s.ID] = n.Line
		schools = append(schools, s)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return engine.NewRegistry(schools)
}

// rawSchool holds a registry row as text, before validation.
type rawSchool struct {
	ID        string `yaml:"id"`
	Name      string `yaml:"name"`
	District  string `yaml:"district"`
	Town      string `yaml:"town"`
	Stage     string `yaml:"stage"`
	Longitude string `yaml:"longitude"`
	Latitude  string `yaml:"latitude"`
	Boarding  string `yaml:"boarding"`
	Canteen   string `yaml:"canteen"`
	// WaterBodies is a list in YAML and a semicolon-separated column in CSV.
	WaterBodies []string `yaml:"water_bodies"`
	// Connected is a list in YAML and a semicolon-separated column in CSV.
	Connected []string `yaml:"connected"`
}

func (r rawSchool) school() (engine.School, []error) {
	var errs []error
	s := engine.School{ID: r.ID, Name: r.Name, District: r.District, Town: r.Town, Canteen: true, WaterBodies: r.WaterBodies, Connected: r.Connected}
	if s.ID == "" {
		errs = append(errs, errors.New("id is empty"))
	}
	if s.Name == "" {
		errs = append(errs, errors.New("name is empty"))
	}
	if s.District == "" {
		errs = append(errs, errors.New("district is empty"))
	}
	var err error
	if s.Stage, err = parseStage(r.Stage); err != nil {
		errs = append(errs, err)
	}
	if s.Longitude, err = strconv.ParseFloat(r.Longitude, 64); err != nil || !(s.Longitude >= -180 && s.Longitude <= 180) { // NaN too
		errs = append(errs, fmt.Errorf("longitude %q is not a number between -180 and 180", r.Longitude))
	}
	if s.Latitude, err = strconv.ParseFloat(r.Latitude, 64); err != nil || !(s.Latitude >= -90 && s.Latitude <= 90) {
		errs = append(errs, fmt.Errorf("latitude %q is not a number between -90 and 90", r.Latitude))
	}
	if s.Boarding, err = parseBool(r.Boarding); err != nil {
		errs = append(errs, fmt.Errorf("boarding: %w", err))
	}
	if r.Canteen != "" {
		if s.Canteen, err = parseBool(r.Canteen); err != nil {
			errs = append(errs, fmt.Errorf("canteen: %w", err))
		}
	}
	return s, errs
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true", "1", "yes", "y", "是":
		return true, nil
	case "false", "0", "no", "n", "否", "":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean, expected true or false", s)
}

func splitSemicolons(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '；' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
