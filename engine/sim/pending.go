package sim

import "time"

// followUp is an event scheduled by an earlier one: the next readings of a
// fridge that went warm, the rest of a screening batch, further reports
// about the same pupil.
type followUp struct {
	due   time.Time
	order uint64 // breaks ties in scheduling order
	emit  func(now time.Time, m moment) message
}

// pendingQueue is a min-heap of follow-ups by due time (container/heap).
type pendingQueue []*followUp

func (q pendingQueue) Len() int { return len(q) }

func (q pendingQueue) Less(i, j int) bool {
	if q[i].due.Equal(q[j].due) {
		return q[i].order < q[j].order
	}
	return q[i].due.Before(q[j].due)
}

func (q pendingQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }

func (q *pendingQueue) Push(x any) { *q = append(*q, x.(*followUp)) }

func (q *pendingQueue) Pop() any {
	old := *q
	n := len(old)
	f := old[n-1]
	old[n-1] = nil
	*q = old[:n-1]
	return f
}
