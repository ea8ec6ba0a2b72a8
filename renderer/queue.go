package renderer

import "sync"

// queue is an unbounded FIFO from chromedp's listener (which must never
// block) to the goroutine of a tab that owns its state.
type queue struct {
	mu     sync.Mutex
	items  []any
	signal chan struct{}
}

func newQueue() *queue { return &queue{signal: make(chan struct{}, 1)} }

func (q *queue) push(v any) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// take returns everything queued so far, in order.
func (q *queue) take() []any {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}
