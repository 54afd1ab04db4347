package storetest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// FerretDBLogEnv, when set to a slog level (debug, info, warn, error), shows
// the embedded FerretDB's logs on stderr; by default they are discarded.
const FerretDBLogEnv = "SHOP_TEST_FERRETDB_LOG"

var ferret struct {
	once sync.Once
	uri  string
	err  error
}

// ferretURI starts the embedded FerretDB the first time it is needed and
// returns its URL. It runs until the test binary exits; each test isolates
// itself with its own database prefix. Its SQLite files live in a temporary
// directory named after this process; directories left by earlier, dead
// test processes are removed here, since nothing runs at binary exit.
func ferretURI() (string, error) {
	ferret.once.Do(func() {
		sweepStale()
		dir, err := os.MkdirTemp("", fmt.Sprintf("shop-ferretdb-%d-", os.Getpid()))
		if err != nil {
			ferret.err = err
			return
		}
		f, err := ferretdb.New(&ferretdb.Config{
			Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
			Logger:    ferretLogger(),
			Handler:   "sqlite",
			SQLiteURL: "file:" + dir + "/",
		})
		if err != nil {
			ferret.err = err
			return
		}
		go f.Run(context.Background()) //nolint:errcheck // runs until exit
		ferret.uri = f.MongoDBURI()
	})
	return ferret.uri, ferret.err
}

func ferretLogger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(os.Getenv(FerretDBLogEnv))); err != nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// sweepStale removes FerretDB directories of test processes that are gone.
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "shop-ferretdb-*"))
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.Split(filepath.Base(d), "-")[2])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			os.RemoveAll(d)
		}
	}
}
