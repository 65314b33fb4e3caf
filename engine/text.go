package engine

import "sync"

// TextCache hands out one string per distinct text, so that a text made
// again and again (a risk's title, a colour change's cause) is allocated
// once. It starts afresh when it holds the most it may, so its memory stays
// bounded whatever the texts. The zero value is ready; it is safe for
// concurrent use.
type TextCache struct {
	mu sync.Mutex
	m  map[string]string
}

// Intern returns the string of b, the one handed out before when there is
// one; the cache holds at most max texts.
func (c *TextCache) Intern(b []byte, max int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[string(b)]; ok {
		return s
	}
	if c.m == nil || len(c.m) >= max {
		c.m = make(map[string]string, 64)
	}
	s := string(b)
	c.m[s] = s
	return s
}
