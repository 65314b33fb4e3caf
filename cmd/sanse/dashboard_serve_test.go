package main

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

// TestDashboardOfTheServer reads GET /api/v1/dashboard of `sanse serve`,
// run in-process: every panel is wired to its part of the server, today's
// routine compliance included (computed from the history as the reports
// compute it), for the district asked for.
func TestDashboardOfTheServer(t *testing.T) {
	dsn := clickhouseDSN(t)
	dbDSN, _ := testDatabase(t, dsn)
	dir := t.TempDir()
	reg := filepath.Join(dir, "registry.csv")
	require.NoError(t, os.WriteFile(reg, []byte(e2eRegistry), 0o644))
	in := serveInProcess(t, "--kafka.embedded-listen-address", freeAddr(t), "--clickhouse.dsn", dbDSN,
		"--registry.file", reg, "--data.dir", filepath.Join(dir, "data"))

	var body struct {
		Schools int              `json:"schools"`
		Days    []map[string]any `json:"colours_by_day"`
		Sources []map[string]any `json:"risks_by_source"`
		Towns   []map[string]any `json:"risks_by_town"`
		Alerts  *struct {
			Count int `json:"count"`
		} `json:"alerts_unacknowledged"`
		Hazards *struct {
			Count int `json:"count"`
		} `json:"hazards_overdue"`
		Compliance *struct {
			Date     string           `json:"date"`
			Routines []map[string]any `json:"routines"`
		} `json:"compliance"`
	}
	require.Equal(t, http.StatusOK, in.getJSON("/api/v1/dashboard?district=南湖区", &body))
	require.Equal(t, 2, body.Schools, "the district's two schools")
	require.Len(t, body.Days, 7, "the colours of the last 7 days")
	require.NotNil(t, body.Alerts, "alerting is wired")
	require.NotNil(t, body.Hazards, "hazards are wired")
	require.NotNil(t, body.Compliance, "routine compliance is wired")
	require.Equal(t, time.Now().In(engine.Shanghai).Format(time.DateOnly), body.Compliance.Date)
	require.NotNil(t, body.Compliance.Routines)
	for _, town := range body.Towns {
		require.Equal(t, "南湖区", town["district"], "only the district asked for")
	}
}
