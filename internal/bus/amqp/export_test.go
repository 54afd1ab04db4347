package amqp

// DropConnection cuts b's TCP connection to the broker under amqp091's
// feet, as a network failure would. It reports whether b was connected.
func DropConnection(b *Bus) bool {
	s := b.sess.Load()
	if s == nil || s.netConn == nil {
		return false
	}
	_ = s.netConn.Close()
	return true
}

// ConnectionName is the client-provided name the broker shows for b.
func ConnectionName(b *Bus) string { return b.opts.ConnectionName }
