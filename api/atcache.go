package api

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/sanse-campus/sanse/engine"
)

// Bounds of the cache of past moments.
const (
	// atCacheTTL is how long the colours of a past moment are reused. The
	// history of a past moment changes only when late events arrive, so a
	// short time costs little accuracy and spares the store the same
	// query from every page that shows that moment.
	atCacheTTL = time.Minute
	// atCacheSize is how many moments are kept at most.
	atCacheSize = 64
	// atQueryTimeout bounds one query of the store for a moment; the query
	// is shared by every request for that moment, so it does not end when
	// the client that started it goes away.
	atQueryTimeout = 30 * time.Second
)

// atCache wraps a LevelsAtFunc: the answer for a moment is kept for
// atCacheTTL, at most atCacheSize moments are kept, and concurrent
// requests for one moment share one query. Errors are not kept. A moment
// is one to the millisecond, the history's precision.
type atCache struct {
	levelsAt LevelsAtFunc
	now      func() time.Time
	count    func(hit bool)

	flight singleflight.Group
	mu     sync.Mutex
	keep   map[int64]atEntry
}

type atEntry struct {
	changes []engine.LevelChange
	expires time.Time
}

func newAtCache(levelsAt LevelsAtFunc, now func() time.Time, count func(hit bool)) *atCache {
	return &atCache{levelsAt: levelsAt, now: now, count: count, keep: map[int64]atEntry{}}
}

// get is a LevelsAtFunc. Its callers must not modify the changes.
func (c *atCache) get(ctx context.Context, at time.Time) ([]engine.LevelChange, error) {
	key := at.UnixNano()
	c.mu.Lock()
	e, ok := c.keep[key]
	c.mu.Unlock()
	if ok && c.now().Before(e.expires) {
		c.count(true)
		return e.changes, nil
	}
	c.count(false)
	ch := c.flight.DoChan(at.UTC().Format(time.RFC3339Nano), func() (any, error) {
		qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), atQueryTimeout)
		defer cancel()
		changes, err := c.levelsAt(qctx, at)
		if err != nil {
			return nil, err
		}
		c.put(key, changes)
		return changes, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.([]engine.LevelChange), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// put keeps changes for key, making room by dropping what has expired and,
// if that is not enough, the entry that expires first.
func (c *atCache) put(key int64, changes []engine.LevelChange) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.keep[key]; !ok && len(c.keep) >= atCacheSize {
		var first int64
		var firstAt time.Time
		for k, e := range c.keep {
			if !now.Before(e.expires) {
				delete(c.keep, k)
				continue
			}
			if firstAt.IsZero() || e.expires.Before(firstAt) {
				first, firstAt = k, e.expires
			}
		}
		if len(c.keep) >= atCacheSize {
			delete(c.keep, first)
		}
	}
	c.keep[key] = atEntry{changes: changes, expires: now.Add(atCacheTTL)}
}

// size returns how many moments are kept.
func (c *atCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.keep)
}
