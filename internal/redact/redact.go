// Package redact hides the secrets in URLs before they reach a log line or
// an error message. Every URL a user configures (bus, database, SMTP) goes
// through URL, so there is one rule for what "hidden" means.
package redact

import "strings"

// URL returns raw with the password of its userinfo replaced by "xxxxx".
// It works on text rather than through net/url because the URLs it sees
// are not all valid for net/url: a MongoDB seed list
// ("mongodb://u:p@h1:27017,h2:27017/") has several hosts, which url.Parse
// rejects. A string that is not a URL is returned unchanged; one that has
// no password is returned unchanged.
func URL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return raw
	}
	user, _, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		return raw
	}
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}
