package report

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Step is what a claim is for.
type Step string

// Steps.
const (
	// StepRun claims a run: to make its report and archive it.
	StepRun Step = "run"
	// StepDeliver claims the delivery of an archived report whose messages
	// were never handed to the outbox (the instance that made it stopped
	// in between).
	StepDeliver Step = "deliver"
	// StepQueued is not a claim but a mark: the report's messages are in
	// the outbox.
	StepQueued Step = "queued"
)

// Claim is an instance's claim of a run key for a step, at a time.
type Claim struct {
	Key      string
	Instance string
	At       time.Time
	Step     Step
}

// Claims keeps the claims of every instance. Its methods must be safe for
// concurrent use. A claim added must be seen by every ClaimsOf that begins
// after AddClaim returned (true of one ClickHouse server; docs/reports.md
// says what a replicated one needs). Claims are only ever added.
type Claims interface {
	// AddReportClaim stores c.
	AddReportClaim(ctx context.Context, c Claim) error
	// ReportClaims returns the claims of key for step, in any order.
	ReportClaims(ctx context.Context, key string, step Step) ([]Claim, error)
	// ReportMarked returns which of keys have a claim (or a mark) of step.
	ReportMarked(ctx context.Context, keys []string, step Step) (map[string]bool, error)
}

// Holder returns the claim that holds a key among claims, and false when
// there is none. Ordered by time (then instance, for claims of the same
// millisecond), the first claim holds the key for lease; the first claim
// made at or after its lease ran out takes over for a lease of its own,
// and so on. Every instance that reads the same claims finds the same
// holder.
func Holder(claims []Claim, lease time.Duration) (Claim, bool) {
	if len(claims) == 0 {
		return Claim{}, false
	}
	sorted := slices.Clone(claims)
	slices.SortFunc(sorted, func(a, b Claim) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		switch {
		case a.Instance < b.Instance:
			return -1
		case a.Instance > b.Instance:
			return 1
		}
		return 0
	})
	h := sorted[0]
	for _, c := range sorted[1:] {
		if !c.At.Before(h.At.Add(lease)) {
			h = c
		}
	}
	return h, true
}

// claimer claims keys for one instance: it adds its claim, waits for the
// claims other instances made at about the same time to be visible, reads
// them all back and holds the key when Holder names its claim.
type claimer struct {
	claims   Claims
	instance string
	lease    time.Duration
	// settle is how long to wait between adding a claim and reading the
	// claims back: a competing claim stamped earlier but stored a little
	// later (clock skew, a slow insert) is seen when it arrives within it.
	settle time.Duration
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error
}

// claim tries to hold key for step. It returns the time of its claim when
// it holds the key, and the zero time when another instance holds it (or
// this one did within the lease: a run that failed is tried again once its
// lease has run out, not at every check).
func (c *claimer) claim(ctx context.Context, key string, step Step) (time.Time, error) {
	existing, err := c.claims.ReportClaims(ctx, key, step)
	if err != nil {
		return time.Time{}, fmt.Errorf("read claims of %s: %w", key, err)
	}
	now := c.now().Truncate(time.Millisecond)
	if h, ok := Holder(existing, c.lease); ok && now.Before(h.At.Add(c.lease)) {
		return time.Time{}, nil
	}
	mine := Claim{Key: key, Instance: c.instance, At: now, Step: step}
	if err := c.claims.AddReportClaim(ctx, mine); err != nil {
		return time.Time{}, fmt.Errorf("claim %s: %w", key, err)
	}
	if err := c.sleep(ctx, c.settle); err != nil {
		return time.Time{}, err
	}
	all, err := c.claims.ReportClaims(ctx, key, step)
	if err != nil {
		return time.Time{}, fmt.Errorf("read claims of %s: %w", key, err)
	}
	h, ok := Holder(all, c.lease)
	if !ok || h.Instance != c.instance || !h.At.Equal(mine.At) {
		return time.Time{}, nil
	}
	return mine.At, nil
}

// sleepCtx waits d, or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
