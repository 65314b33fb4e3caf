package benchkit

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

// unescapeTSV reverses the escapes of the TabSeparated format.
func unescapeTSV(s string) string {
	return strings.NewReplacer(`\\`, `\`, `\t`, "\t", `\n`, "\n", `\r`, "\r", `\0`, "\x00").Replace(s)
}

func TestAppendEventRow(t *testing.T) {
	at := time.Date(2026, 12, 5, 9, 30, 15, 250e6, engine.Shanghai)
	ev := engine.Event{
		ID: "JX-NH-0001-visitor-7-19ae", SchoolID: "JX-NH-0001", Source: engine.SourceVisitor, Type: "entry",
		OccurredAt: at, Reporter: "门卫\t王",
		Payload:    []byte("{\"note\":\"line one\\nline two\",\"path\":\"C:\\\\gate\"}\n\r\x00"),
		PersonHash: "h:abc",
		Origin:     engine.Origin{Topic: "campus.visitor", Partition: 5, Offset: 123456},
	}
	row := string(AppendEventRow([]byte("previous"), &ev, 1796434300))
	require.True(t, strings.HasPrefix(row, "previous"), "appends")
	row = strings.TrimPrefix(row, "previous")
	require.True(t, strings.HasSuffix(row, "\n"))
	line := strings.TrimSuffix(row, "\n")
	require.NotContains(t, line, "\n", "a row is one line")

	fields := strings.Split(line, "\t")
	columns := strings.Split(EventColumns, ", ")
	require.Len(t, fields, len(columns), "one field per column")
	for i := range fields {
		fields[i] = unescapeTSV(fields[i])
	}
	got := map[string]string{}
	for i, c := range columns {
		got[c] = fields[i]
	}
	require.Equal(t, map[string]string{
		"id": ev.ID, "school_id": "JX-NH-0001", "source": "visitor", "type": "entry",
		"occurred_at": "1796434215", "occurred_at_ms": "1796434215250",
		"reporter": "门卫\t王", "payload": string(ev.Payload), "visitor_hash": "h:abc",
		"kafka_topic": "campus.visitor", "kafka_partition": "5", "kafka_offset": "123456",
		"ingested_at": "1796434300",
	}, got)
}
