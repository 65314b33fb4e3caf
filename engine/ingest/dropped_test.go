package ingest_test

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/ingest"
)

func TestDroppedFieldsBoundsItsLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	d := ingest.NewDroppedFields(nil, reg)
	d.Count(engine.SourceCanteen, []byte("confidence"))
	d.Count(engine.SourceCanteen, []byte("confidence"))
	d.Count(engine.SourceCanteen, []byte("440306199003074513")) // a number as a key
	d.Count(engine.SourceCanteen, []byte(`pho\u006ee`))         // not a plain name
	for i := range ingest.MaxDroppedFieldNames + 10 {
		d.Count(engine.SourceVisitor, fmt.Appendf(nil, "f%d", i))
	}
	families, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			got[labels["source"]+"/"+labels["field"]] = m.GetCounter().GetValue()
		}
	}
	require.Equal(t, 2.0, got["canteen/confidence"])
	require.Equal(t, 2.0, got["canteen/other"])
	require.Equal(t, 11.0, got["visitor/other"], "names beyond the first %d", ingest.MaxDroppedFieldNames)
	require.Len(t, got, len(event.Builtin().Names())+ingest.MaxDroppedFieldNames)
	require.Equal(t, len(event.Builtin().Names())+ingest.MaxDroppedFieldNames, testutil.CollectAndCount(reg))
}
