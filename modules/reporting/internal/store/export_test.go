package store

// WithReplayBatch returns the store replaying n journal rows per query, so
// tests cross batch boundaries with a few rows.
func (s *Store) WithReplayBatch(n int) *Store {
	c := *s
	c.replayBatch = n
	return &c
}
