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
	dl := deadLetter("campus.deadletter", m, &event.DecodeError{Reason: event.ReasonTooLarge, Msg: "too large"})
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
