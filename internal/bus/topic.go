package bus

import "strings"

// Match reports whether topic matches pattern with AMQP topic-exchange
// rules, so the in-process bus routes exactly as RabbitMQ does: words are
// separated by dots, "*" matches one word, "#" matches zero or more.
func Match(pattern, topic string) bool {
	return match(strings.Split(pattern, "."), strings.Split(topic, "."))
}

func match(p, t []string) bool {
	for len(p) > 0 {
		switch p[0] {
		case "#":
			for i := 0; i <= len(t); i++ {
				if match(p[1:], t[i:]) {
					return true
				}
			}
			return false
		case "*":
			if len(t) == 0 {
				return false
			}
		default:
			if len(t) == 0 || t[0] != p[0] {
				return false
			}
		}
		p, t = p[1:], t[1:]
	}
	return len(t) == 0
}

// ValidateTopic checks a topic a publisher names: non-empty dot-separated
// words, none of them a wildcard.
func ValidateTopic(topic string) error {
	return validateWords(topic, false)
}

// ValidatePattern checks a subscription pattern.
func ValidatePattern(pattern string) error {
	return validateWords(pattern, true)
}

func validateWords(s string, wildcards bool) error {
	if s == "" || len(s) > 200 {
		return Errorf(CodeInvalid, "topic %q: must be 1 to 200 characters", s)
	}
	for _, w := range strings.Split(s, ".") {
		if w == "" {
			return Errorf(CodeInvalid, "topic %q: empty word", s)
		}
		if !wildcards && (w == "*" || w == "#") {
			return Errorf(CodeInvalid, "topic %q: wildcards are for subscriptions", s)
		}
		if strings.ContainsAny(w, " \t\r\n") {
			return Errorf(CodeInvalid, "topic %q: word %q has white space", s, w)
		}
	}
	return nil
}
