package ingest

import (
	"strconv"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine/event"
)

func TestDeadLetterOfATooLargeMessageIsCutAndRedacted(t *testing.T) {
	value := `{"note":"` + strings.Repeat("440306199003074513, ", 2000) + `"}`
	m := &kafka.Message{Topic: "campus.canteen", Partition: 1, Offset: 7, Key: []byte("S1"), Value: []byte(value)}
	dl := deadLetter(event.Builtin(), "campus.deadletter", m, &event.DecodeError{Reason: event.ReasonTooLarge, Msg: "too large"})
	require.LessOrEqual(t, len(dl.Value), MaxDeadLetterBody)
	require.NotContains(t, string(dl.Value), "440306199003074513")
	require.Contains(t, string(dl.Value), "4403**********4513")
	require.Equal(t, "S1", string(dl.Key))
	headers := map[string]string{}
	for _, h := range dl.Headers {
		headers[h.Key] = string(h.Value)
	}
	require.Equal(t, strconv.Itoa(len(value)), headers[HeaderSize])
	require.Equal(t, "too_large", headers[HeaderReason])
	require.Equal(t, "7", headers[HeaderOffset])
}

func TestDeadLetterMasksTheFieldsADeclaredSourceCallsPersonal(t *testing.T) {
	c, err := event.LoadContract("../../testdata/sources")
	require.NoError(t, err)
	m := &kafka.Message{Topic: "campus.ferry", Value: []byte(`{"source":"ferry","driver_name":"张三丰","plate":"浙A12345"}`)}
	dl := deadLetter(c, "campus.deadletter", m, &event.DecodeError{Reason: event.ReasonMissingField, Msg: "missing"})
	require.NotContains(t, string(dl.Value), "张三丰")
	require.Contains(t, string(dl.Value), `"driver_name":"张**"`)
	require.Contains(t, string(dl.Value), "浙A12345")
	require.Contains(t, string(deadLetter(event.Builtin(), "campus.deadletter", m, &event.DecodeError{}).Value), "张三丰",
		"the built-in contract does not know driver_name; the test would pass without the declaration")
}
