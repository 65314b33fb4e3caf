package main

import (
	"fmt"
	"log/slog"
	"os"
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

// loadBoundaries returns the outlines the map draws: those of path, or nil
// for the embedded demo outlines when path is empty. It warns about schools
// of the registry that lie outside their district's outline, which the map
// would show in the wrong place.
func loadBoundaries(path string, registry *engine.Registry, logger *slog.Logger) ([]byte, error) {
	data := web.DemoBoundaries()
	if path != "" {
		var err error
		if data, err = readBoundaries(path); err != nil {
			return nil, err
		}
	}
	b, err := web.ParseBoundaries(data)
	if err != nil {
		return nil, fmt.Errorf("map outlines: %w", err)
	}
	var misplaced []string
	for _, s := range registry.Schools() {
		if why := b.Misplaced(s.District, s.Longitude, s.Latitude); why != "" {
			misplaced = append(misplaced, s.ID+": "+why)
		}
	}
	if len(misplaced) > 0 {
		logger.Warn("schools outside their district's outline on the map; check their coordinates or map.boundaries_file",
			"schools", len(misplaced), "of", registry.Len(), "examples", strings.Join(misplaced[:min(5, len(misplaced))], "; "))
	}
	if path == "" {
		return nil, nil
	}
	return data, nil
}
