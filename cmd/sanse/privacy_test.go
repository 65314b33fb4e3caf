package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/auth"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/store"
)

// TestPrivacyExportErase: one visitor's events are found by the keyed hash of
// their identity number, exported without the number, and erased; another
// visitor's stay. The number is never printed.
func TestPrivacyExportErase(t *testing.T) {
	dsn, _ := testDatabase(t, clickhouseDSN(t))
	dataDir := t.TempDir()
	identity, err := event.LoadIdentityKey(filepath.Join(dataDir, "visitor.key"))
	require.NoError(t, err)
	const person, other = "33040219800101123X", "330402198001011234"
	st, err := store.Open(t.Context(), dsn, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.Migrate(t.Context()))
	at := time.Date(2026, 11, 20, 8, 0, 0, 0, engine.Shanghai)
	ev := func(id, visitor string) engine.Event {
		return engine.Event{ID: id, SchoolID: "E-01", Source: engine.SourceVisitor, Type: "entry", OccurredAt: at,
			PersonHash: identity.Hash(visitor), Payload: []byte(`{"id":"` + id + `","visitor_masked":"` + event.MaskID(visitor) + `"}`)}
	}
	require.NoError(t, st.Write(t.Context(), &engine.Batch{Events: []engine.Event{ev("v-1", person), ev("v-2", person), ev("o-1", other)}}))

	flags := []string{"--clickhouse.dsn", dsn, "--data.dir", dataDir}
	var out, errOut bytes.Buffer
	require.NoError(t, cmdPrivacy(context.Background(), append([]string{"export", "--visitor-id", "-"}, flags...),
		strings.NewReader(person+"\n"), &out, &errOut))
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var e store.PersonEvent
		require.NoError(t, json.Unmarshal([]byte(line), &e))
		ids = append(ids, e.ID)
	}
	require.Equal(t, []string{"v-1", "v-2"}, ids)
	require.NotContains(t, out.String()+errOut.String(), person, "the number itself is never printed")
	require.Contains(t, errOut.String(), "exported 2 events of visitor 3304**********123X")

	out.Reset()
	err = cmdPrivacy(context.Background(), append([]string{"erase", "--visitor-id", person}, flags...), nil, &out, &errOut)
	require.ErrorContains(t, err, "add --yes", "erasing needs --yes")
	require.NoError(t, cmdPrivacy(context.Background(), append([]string{"erase", "--yes", "--visitor-id", person}, flags...), nil, &out, &errOut))
	require.Equal(t, "erased 2 events of visitor 3304**********123X\n", out.String())
	left, err := st.PersonEvents(t.Context(), identity.Hash(person))
	require.NoError(t, err)
	require.Empty(t, left)
	kept, err := st.PersonEvents(t.Context(), identity.Hash(other))
	require.NoError(t, err)
	require.Len(t, kept, 1, "another visitor's events stay")

	// Both acts are audited, by the visitor's keyed hash, never the number.
	entries, err := st.Audit(t.Context(), auth.AuditFilter{Action: "privacy."})
	require.NoError(t, err)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
		require.Equal(t, "visitor:"+identity.Hash(person), e.Target)
		require.Equal(t, auth.ResultOK, e.Result)
		require.NotContains(t, string(e.Detail)+e.Target+e.Actor, person)
	}
	require.ElementsMatch(t, []string{auth.ActionPrivacyExport, auth.ActionPrivacyErase}, actions)
}
