package store

// CheckURL validates a database URL's syntax without touching the disk or
// the network, so a command can refuse bad input before it starts anything.
func CheckURL(rawURL string) error {
	_, _, err := parseURL(rawURL)
	return err
}
