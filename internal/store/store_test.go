package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url     string
		kind    Kind
		dir     string
		wantErr string
	}{
		{url: "sqlite:///var/lib/shop", kind: KindSQLite, dir: "/var/lib/shop"},
		{url: "sqlite://./shop-data", kind: KindSQLite, dir: "./shop-data"},
		{url: "sqlite://data", kind: KindSQLite, dir: "data"},
		{url: "  sqlite://./x  ", kind: KindSQLite, dir: "./x"},
		{url: DefaultURL, kind: KindSQLite, dir: "./shop-data"},
		{url: "mongodb://localhost:27017", kind: KindMongo},
		{url: "mongodb://u:p@h1,h2,h3/?replicaSet=rs0&w=majority", kind: KindMongo},
		{url: "mongodb+srv://cluster.example.net/", kind: KindMongo},
		{url: "", wantErr: "empty database URL"},
		{url: "   ", wantErr: "empty database URL"},
		{url: "sqlite://", wantErr: "names no directory"},
		{url: "sqlite:///d?mode=memory", wantErr: "no query"},
		{url: "sqlite:///d#x", wantErr: "no query"},
		{url: "sqlite:///a%zz", wantErr: "bad sqlite URL"},
		{url: "sqlite://u@dir", wantErr: "no user"},
		{url: "sqlite:///tmp/a%23b%3Fc%25d%20e", kind: KindSQLite, dir: "/tmp/a#b?c%d e"},
		{url: "postgres://localhost/shop", wantErr: `unknown database URL scheme "postgres"`},
		{url: "SQLITE:///d", wantErr: `unknown database URL scheme "SQLITE"`},
		{url: "/var/lib/shop", wantErr: "is not a URL"},
		{url: "mysql://root:secret@db/shop", wantErr: "unknown database URL scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			kind, dir, err := parseURL(tt.url)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseURL(%q) error = %v, want it to contain %q", tt.url, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil || kind != tt.kind || dir != tt.dir {
				t.Fatalf("parseURL(%q) = %q, %q, %v; want %q, %q", tt.url, kind, dir, err, tt.kind, tt.dir)
			}
		})
	}
}

func TestSQLiteURLRoundTrip(t *testing.T) {
	for _, dir := range []string{"/tmp/Test#01/001", "/a?b/c%d e/ü", "./rel/data", "data", "../up"} {
		u := SQLiteURL(dir)
		kind, got, err := parseURL(u)
		if err != nil || kind != KindSQLite || filepath.Clean(got) != filepath.Clean(dir) {
			t.Errorf("parseURL(SQLiteURL(%q) = %q) = %q, %q, %v", dir, u, kind, got, err)
		}
	}
}

func TestOpenSQLiteDirectory(t *testing.T) {
	ctx := context.Background()
	t.Run("creates missing directories", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a", "b")
		db, err := Open(ctx, "sqlite://"+dir)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close(ctx)
		if db.Kind() != KindSQLite || db.Dir() != dir {
			t.Fatalf("Kind, Dir = %v, %q; want sqlite, %q", db.Kind(), db.Dir(), dir)
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			t.Fatalf("directory not created: %v", err)
		}
		if err := db.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("relative to the working directory", func(t *testing.T) {
		t.Chdir(t.TempDir())
		db, err := Open(ctx, "sqlite://./rel/data")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close(ctx)
		wd, _ := os.Getwd()
		if want := filepath.Join(wd, "rel", "data"); db.Dir() != want {
			t.Fatalf("Dir = %q, want %q", db.Dir(), want)
		}
	})

	file := filepath.Join(t.TempDir(), "plain-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, dir := range map[string]string{
		"path is a file":        file,
		"parent is a file":      filepath.Join(file, "sub"),
		"read-only file system": "/proc/shop-data",
	} {
		t.Run(name, func(t *testing.T) {
			db, err := Open(ctx, "sqlite://"+dir)
			if err == nil {
				db.Close(ctx)
				t.Fatalf("Open(%s) succeeded", dir)
			}
			if !strings.Contains(err.Error(), "sqlite directory") {
				t.Fatalf("error %q does not say what is wrong", err)
			}
		})
	}
	t.Run("unwritable", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root ignores directory permissions")
		}
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		_, err := Open(ctx, "sqlite://"+dir)
		if err == nil || !strings.Contains(err.Error(), "not writable") {
			t.Fatalf("Open on a read-only directory: %v, want 'not writable'", err)
		}
	})
}

func TestOpenOptions(t *testing.T) {
	ctx := context.Background()
	if _, err := Open(ctx, "mongodb://127.0.0.1:1", WithDatabasePrefix("bad.prefix")); err == nil {
		t.Error("a prefix with a dot was accepted")
	}
	if _, err := Open(ctx, "mongodb://127.0.0.1:1/?readPreference=nonsense"); err == nil {
		t.Error("a bad readPreference was accepted")
	}
}

func TestMongoClientOptions(t *testing.T) {
	cfg := config{timeout: DefaultTimeout}
	co, err := mongoClientOptions("mongodb://u:p@127.0.0.1:27017,127.0.0.2:27018/?replicaSet=rs0&readPreference=secondaryPreferred&w=majority&connectTimeoutMS=2500", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if co.ReplicaSet == nil || *co.ReplicaSet != "rs0" {
		t.Errorf("ReplicaSet = %v, want rs0", co.ReplicaSet)
	}
	if co.ReadPreference == nil || co.ReadPreference.Mode() != readpref.SecondaryPreferredMode {
		t.Errorf("ReadPreference = %v, want secondaryPreferred", co.ReadPreference)
	}
	if co.WriteConcern == nil || co.WriteConcern.W != "majority" {
		t.Errorf("WriteConcern = %+v, want w=majority", co.WriteConcern)
	}
	if len(co.Hosts) != 2 {
		t.Errorf("Hosts = %v, want two", co.Hosts)
	}
	if co.Auth == nil || co.Auth.Username != "u" {
		t.Errorf("Auth = %+v, want user u", co.Auth)
	}
	if *co.ConnectTimeout != 2500*time.Millisecond {
		t.Errorf("ConnectTimeout = %v, want the URL's 2.5s", *co.ConnectTimeout)
	}
	if *co.ServerSelectionTimeout != DefaultTimeout {
		t.Errorf("ServerSelectionTimeout = %v, want default %v", *co.ServerSelectionTimeout, DefaultTimeout)
	}

	cfg = config{timeout: 3 * time.Second, mongoOpts: []func(*options.ClientOptions){
		func(o *options.ClientOptions) { o.SetMaxPoolSize(1) },
	}}
	co, err = mongoClientOptions("mongodb://127.0.0.1:27017/?maxPoolSize=50", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if *co.ConnectTimeout != 3*time.Second || *co.ServerSelectionTimeout != 3*time.Second {
		t.Errorf("timeouts = %v, %v; want WithTimeout's 3s", *co.ConnectTimeout, *co.ServerSelectionTimeout)
	}
	if *co.MaxPoolSize != 1 {
		t.Errorf("MaxPoolSize = %d, want 1 from WithMongoClientOptions (it has the last word)", *co.MaxPoolSize)
	}
}

func TestMongoUnreachable(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "mongodb://u:secret@127.0.0.1:1/", WithTimeout(300*time.Millisecond))
	if err != nil {
		t.Fatalf("Open must not need the server: %v", err)
	}
	defer db.Close(ctx)
	if db.Kind() != KindMongo || strings.Contains(db.String(), "secret") {
		t.Fatalf("Kind, String = %v, %q", db.Kind(), db.String())
	}
	err = db.Ping(ctx)
	if err == nil {
		t.Fatal("Ping of a closed port succeeded")
	}
	if strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("Ping error %q: want the host, not the password", err)
	}
	if _, err := db.SQLite(ctx, "cart", nil); err == nil {
		t.Error("SQLite on a mongodb store succeeded")
	}
	if _, err := db.Mongo(ctx, "../etc", nil); err == nil {
		t.Error("a module name with a path was accepted")
	}
	if err := db.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := db.Mongo(ctx, "cart", nil); err == nil {
		t.Error("Mongo after Close succeeded")
	}
}
