package middleware

import (
	"context"
	"sync"
	"time"
)

// MemoryStore keeps sessions in this process's memory: right for one
// instance and for tests. Sessions are copied in and out, so callers never
// share one. Expired sessions are swept as new ones are added.
type MemoryStore struct {
	now  func() time.Time
	mu   sync.Mutex
	m    map[string]Session
	puts int
}

// NewMemoryStore returns an empty store; now may be nil (time.Now).
func NewMemoryStore(now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{now: now, m: map[string]Session{}}
}

// Get implements Store.
func (m *MemoryStore) Get(_ context.Context, key string) (*Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.m[key]
	if !ok {
		return nil, ErrNoSession
	}
	return &s, nil
}

// Put implements Store.
func (m *MemoryStore) Put(_ context.Context, s *Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[s.Key] = *s
	m.puts++
	if m.puts%1024 == 0 {
		now := m.now()
		for k, v := range m.m {
			if !now.Before(v.ExpiresAt) {
				delete(m.m, k)
			}
		}
	}
	return nil
}

// Delete implements Store.
func (m *MemoryStore) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, key)
	return nil
}

// Len returns how many sessions are kept (pending ones included).
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}
