package notify

import "context"

// Record keeps delivery attempts to store, as a sender does.
func (o *Outbox) Record(ds []Delivery) { o.record(ds) }

// StoreDeliveries stores the attempts recorded so far, as Run does every
// 500 ms.
func (o *Outbox) StoreDeliveries(ctx context.Context) { o.storeDeliveries(ctx) }
