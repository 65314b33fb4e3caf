package main

import (
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/sanse-campus/sanse/api/web"
	"github.com/sanse-campus/sanse/engine"
)

// readBoundaries reads and checks the GeoJSON of map.boundaries_file.
func readBoundaries(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("map.boundaries_file: %w", err)
	}
	if _, err := web.ParseBoundaries(data); err != nil {
		return nil, fmt.Errorf("map.boundaries_file %s: %w", path, err)
	}
	return data, nil
}

// loadBoundaries returns the outlines the map draws: those of path, or, when
// path is empty, the embedded county outlines of the cities of 浙江省 that
// hold the registry's districts (web.Choose). It warns about districts the
// embedded outlines do not know and about schools that lie outside their
// district's outline, which the map would show in the wrong place: the
// latter when checkPlaces is called, which takes a while for a province
// (every school against its district's outline) and may run meanwhile.
func loadBoundaries(path string, registry *engine.Registry, logger *slog.Logger) (data []byte, checkPlaces func(), err error) {
	if path != "" {
		data, err := readBoundaries(path)
		if err != nil {
			return nil, nil, err
		}
		b, err := web.ParseBoundaries(data)
		if err != nil {
			return nil, nil, fmt.Errorf("map outlines: %w", err)
		}
		return data, func() {
			warnMisplaced(registry, logger, func(s *engine.School) string {
				return b.Misplaced(s.District, s.Longitude, s.Latitude)
			})
		}, nil
	}

	var districts []string
	seen := map[string]bool{}
	for _, s := range registry.Schools() {
		if !seen[s.District] {
			seen[s.District] = true
			districts = append(districts, s.District)
		}
	}
	choice := web.Choose(districts)
	data = choice.GeoJSON()
	b, err := web.ParseBoundaries(data)
	if err != nil {
		return nil, nil, fmt.Errorf("embedded map outlines: %w", err) // build.mjs's output is checked by go test
	}
	logger.Info("map outlines: the embedded county outlines of the registry's cities", "cities", strings.Join(choice.Cities, ","))
	var renamed []string
	for _, d := range districts {
		if o := choice.Outlines(d); o != nil && !slices.Equal(o, []string{d}) {
			renamed = append(renamed, d+" in "+strings.Join(o, "+"))
		}
	}
	if len(renamed) > 0 {
		logger.Info("the embedded outlines predate some districts of the registry: their schools lie in the outlines they were made from",
			"districts", strings.Join(renamed, "; "))
	}
	if len(choice.Unknown) > 0 {
		n := 0
		for _, s := range registry.Schools() {
			if slices.Contains(choice.Unknown, s.District) {
				n++
			}
		}
		msg := "districts of the registry that no embedded county outline of 浙江省 holds: their schools are drawn without their county; set map.boundaries_file for outlines of your own"
		if choice.Fallback {
			msg = "no district of the registry is a county of 浙江省 that the embedded outlines know: the map draws all 11 cities; set map.boundaries_file for outlines of your own"
		}
		logger.Warn(msg, "districts", strings.Join(choice.Unknown[:min(10, len(choice.Unknown))], ", "),
			"unknown", len(choice.Unknown), "schools", n, "of", registry.Len())
	}
	return data, func() {
		warnMisplaced(registry, logger, func(s *engine.School) string {
			o := choice.Outlines(s.District)
			if o == nil {
				return "" // warned about above
			}
			return b.MisplacedIn(s.District, o, s.Longitude, s.Latitude)
		})
	}, nil
}

// warnMisplaced logs the schools for which misplaced gives a reason, with a
// few examples.
func warnMisplaced(registry *engine.Registry, logger *slog.Logger, misplaced func(*engine.School) string) {
	var wrong []string
	for _, s := range registry.Schools() {
		if why := misplaced(s); why != "" {
			wrong = append(wrong, s.ID+": "+why)
		}
	}
	if len(wrong) > 0 {
		logger.Warn("schools outside their district's outline on the map; check their coordinates or map.boundaries_file",
			"schools", len(wrong), "of", registry.Len(), "examples", strings.Join(wrong[:min(5, len(wrong))], "; "))
	}
}
