package store_test

import (
	"testing"

	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/notify"
	"github.com/sanse-campus/sanse/engine/store/storetest"
)

// The store shows the behaviour engine/alert and engine/notify rely on, the
// same that their fakes are held to.
func TestAlertStoreConformance(t *testing.T) {
	storetest.TestAlertStore(t, func(t *testing.T) alert.Store { return storetest.Fresh(t, nil) })
}

func TestOutboxStoreConformance(t *testing.T) {
	storetest.TestOutboxStore(t, func(t *testing.T) notify.OutboxStore { return storetest.Fresh(t, nil) })
}
