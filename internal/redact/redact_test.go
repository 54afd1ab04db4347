package redact

import "testing"

func TestURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"amqp://guest:guest@127.0.0.1:5672/", "amqp://guest:xxxxx@127.0.0.1:5672/"},
		{"amqp://guest@127.0.0.1:5672/", "amqp://guest@127.0.0.1:5672/"},
		{"mongodb://u:p%40ss@h1:27017,h2:27017/?replicaSet=rs0", "mongodb://u:xxxxx@h1:27017,h2:27017/?replicaSet=rs0"},
		{"mongodb://h1,h2/?replicaSet=rs0", "mongodb://h1,h2/?replicaSet=rs0"},
		{"smtp://mailer:s3cr:et@mail.example:587", "smtp://mailer:xxxxx@mail.example:587"},
		{"sqlite://./shop-data", "sqlite://./shop-data"},
		{"memory://", "memory://"},
		{"not a url", "not a url"},
		{"http://host/path@with-at", "http://host/path@with-at"},
		{"", ""},
		{"mongodb://u:p%40ss@h1:27017,h2/db?w=1", "mongodb://u:xxxxx@h1:27017,h2/db?w=1"},
		{"mongodb://u@h1/", "mongodb://u@h1/"},
		{"mongodb://h1/?x=a@b", "mongodb://h1/?x=a@b"},
	} {
		if got := URL(tc.in); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
