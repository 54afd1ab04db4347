package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// TailerOptions tune a Tailer; the zero value gives the defaults.
type TailerOptions struct {
	// Poll is the fallback poll interval (DefaultPoll); Notify polls at once.
	Poll time.Duration
	// Grace is how long a missing seq may still be filled by a write in
	// flight before the cursor passes it (DefaultGrace). It must exceed the
	// time a MongoDB writer takes from allocating a seq to writing it; Put
	// re-stamps writes slower than DefaultGrace/4, so keep Grace at least
	// DefaultGrace on MongoDB. Unused on SQLite, which has no such gaps.
	Grace time.Duration
	// Lookback is how far below a MongoDB snapshot's seq the cursor starts
	// (DefaultLookback): at least the number of writes that can be in
	// flight at once across all writers.
	Lookback int64
	// Batch is the size of one Since read (DefaultBatch).
	Batch int
	// Resync reloads a snapshot when the log could not be read for this long
	// (DefaultResync); keep it below the age Compact keeps tombstones for.
	Resync time.Duration
	// StaleAfter makes Ready fail when the log could not be read for this
	// long after the snapshot was loaded (DefaultStaleAfter).
	StaleAfter time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

func (o *TailerOptions) defaults() {
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	if o.Lookback <= 0 {
		o.Lookback = DefaultLookback
	}
	if o.Batch <= 0 || o.Batch > MaxLimit {
		o.Batch = DefaultBatch
	}
	if o.Resync <= 0 {
		o.Resync = DefaultResync
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = DefaultStaleAfter
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Tailer keeps one instance's in-memory read model current from a Log: a
// snapshot at start, then every change in seq order. apply is called from
// one goroutine at a time, never concurrently:
//
//   - apply(all, true): all is the complete live state (a snapshot);
//     replace whatever the state held.
//   - apply(changes, false): changes in seq order; a Deleted change drops
//     its key (which the state may not hold).
//
// For each key the versions passed to apply never decrease, and each
// (key, version) comes once, except that one may come again after a reset,
// or when a MongoDB write so late that Put re-stamped it is read at both
// seqs more than Grace apart: apply should treat an equal version as a
// replacement, which a keyed map does anyway.
type Tailer struct {
	log     Log
	apply   func(changes []Change, reset bool)
	opts    TailerOptions
	gapless bool
	logger  *slog.Logger

	notify chan struct{}
	loaded chan struct{}
	done   chan struct{}
	cancel context.CancelFunc

	mu       sync.Mutex
	started  bool
	stopped  bool
	ready    bool
	lastOK   time.Time
	lastErr  error
	cursorLo int64 // Seq(), copied from cursor

	// Owned by the run goroutine.
	cursor int64
	top    int64           // the last snapshot's seq
	seen   map[string]seen // changes applied with seq > cursor, or recently
	marks  []mark          // when each horizon was first read; above cursor
}

// seen is what the tailer last applied for a key: the dedupe state.
type seen struct {
	version, seq int64
	at           time.Time
}

// mark records that by time at the tailer had read up to seq horizon: a
// seq at or below horizon that was missing then, and is missing still
// after at+Grace, is a permanent gap.
type mark struct {
	horizon int64
	at      time.Time
}

// NewTailer returns a Tailer of log; Start runs it.
func NewTailer(log Log, apply func(changes []Change, reset bool), opts TailerOptions) *Tailer {
	opts.defaults()
	t := &Tailer{
		log: log, apply: apply, opts: opts,
		logger: opts.Logger.With("feed", log.Name()),
		notify: make(chan struct{}, 1),
		loaded: make(chan struct{}),
		done:   make(chan struct{}),
	}
	if g, ok := log.(gapless); ok {
		t.gapless = g.gapless()
	}
	return t
}

// Start loads the snapshot and then tails, in the background: it returns at
// once, and Ready reports the progress. Snapshot and read errors are
// retried until Stop.
func (t *Tailer) Start(context.Context) error {
	ctx, err := t.begin(context.Background())
	if err != nil {
		return err
	}
	go t.run(ctx)
	return nil
}

// Run is Start for a caller that owns the goroutine, such as a module's
// bus.Server.Go: it tails until ctx ends or Stop, then returns nil. It
// never fails on its own: store errors are retried and reported by Ready,
// since a read model that cannot reach its store should stop serving, not
// stop the process.
func (t *Tailer) Run(ctx context.Context) error {
	ctx, err := t.begin(ctx)
	if err != nil {
		return err
	}
	t.run(ctx)
	return nil
}

func (t *Tailer) begin(parent context.Context) (context.Context, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.started || t.stopped {
		return nil, fmt.Errorf("feed %s: tailer already started", t.log.Name())
	}
	t.started = true
	ctx, cancel := context.WithCancel(parent)
	t.cancel = cancel
	return ctx, nil
}

// Stop ends tailing and waits, until ctx ends, for the apply in progress.
func (t *Tailer) Stop(ctx context.Context) error {
	t.mu.Lock()
	started, cancel := t.started, t.cancel
	t.stopped = true
	t.mu.Unlock()
	if !started {
		return nil
	}
	cancel()
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("feed %s: stop tailer: %w", t.log.Name(), ctx.Err())
	}
}

// Notify asks for a poll now; a writer in this process calls it after Put
// so its own change shows without waiting for the poll interval.
func (t *Tailer) Notify() {
	select {
	case t.notify <- struct{}{}:
	default:
	}
}

// Loaded is closed once the first snapshot has been applied.
func (t *Tailer) Loaded() <-chan struct{} { return t.loaded }

// Ready reports whether the read model can serve: nil once the first
// snapshot is applied and the log is being read; otherwise an error that
// says why ("feed products: loading snapshot"), for a readiness check.
func (t *Tailer) Ready(context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	name := t.log.Name()
	switch {
	case t.stopped:
		return fmt.Errorf("feed %s: stopped", name)
	case !t.ready && t.lastErr != nil:
		return fmt.Errorf("feed %s: loading snapshot: %w", name, t.lastErr)
	case !t.ready:
		return fmt.Errorf("feed %s: loading snapshot", name)
	case t.lastErr != nil && time.Since(t.lastOK) > t.opts.StaleAfter:
		return fmt.Errorf("feed %s: not read for %s: %w", name, time.Since(t.lastOK).Round(time.Second), t.lastErr)
	}
	return nil
}

// Seq returns the cursor: every change with a seq at or below it has been
// applied (or superseded by one that has).
func (t *Tailer) Seq() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cursorLo
}

func (t *Tailer) run(ctx context.Context) {
	defer func() {
		t.mu.Lock()
		t.stopped = true
		t.mu.Unlock()
		close(t.done)
	}()
	if !t.load(ctx) {
		return
	}
	timer := time.NewTimer(t.opts.Poll)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.notify:
		case <-timer.C:
		}
		err := t.poll(ctx)
		if ctx.Err() != nil {
			return
		}
		t.record(err)
		if err != nil {
			t.logger.WarnContext(ctx, "feed: read failed", "after", t.cursor, "err", err)
		}
		if t.lastReadBefore(time.Now().Add(-t.opts.Resync)) {
			t.logger.WarnContext(ctx, "feed: log unread for too long, reloading the snapshot", "resync", t.opts.Resync)
			if !t.load(ctx) {
				return
			}
		}
		timer.Reset(t.opts.Poll)
		// Notifications within a tenth of the interval share the next
		// poll: a burst of local writes costs a few reads, not one each.
		select {
		case <-ctx.Done():
			return
		case <-time.After(t.opts.Poll / 10):
		}
	}
}

func (t *Tailer) lastReadBefore(when time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lastOK.Before(when)
}

// record notes the outcome of a read for Ready and Resync.
func (t *Tailer) record(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastErr = err
	if err == nil {
		t.lastOK = time.Now()
	}
	t.cursorLo = t.cursor
}

// load applies a snapshot, retrying with backoff until it succeeds (true)
// or ctx ends (false).
func (t *Tailer) load(ctx context.Context) bool {
	backoff := 100 * time.Millisecond
	for {
		err := t.loadOnce(ctx)
		if ctx.Err() != nil {
			return false
		}
		if err == nil {
			return true
		}
		t.record(err)
		t.logger.ErrorContext(ctx, "feed: snapshot failed, retrying", "in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (t *Tailer) loadOnce(ctx context.Context) error {
	began := time.Now()
	all, top, err := t.log.Snapshot(ctx)
	if err != nil {
		return err
	}
	read := time.Now()
	// On MongoDB a write allocated before the snapshot's seq may not have
	// landed yet: start below it, and let the grace decide those seqs.
	cursor := top
	if !t.gapless {
		cursor = max(0, top-t.opts.Lookback)
	}
	t.cursor, t.top = cursor, top
	t.seen = make(map[string]seen)
	for _, c := range all {
		if c.Seq > cursor {
			t.seen[c.Key] = seen{version: c.Version, seq: c.Seq, at: read}
		}
	}
	t.marks = []mark{{horizon: top, at: read}}
	if err := t.call(all, true); err != nil {
		return err
	}
	t.record(nil)
	t.mu.Lock()
	first := !t.ready
	t.ready = true
	t.mu.Unlock()
	if first {
		close(t.loaded)
	}
	t.logger.InfoContext(ctx, "feed: snapshot loaded", "entries", len(all), "seq", top, "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// call runs apply, turning a panic in the module's callback into an error:
// the state it left is suspect, so the caller reloads a snapshot.
func (t *Tailer) call(changes []Change, reset bool) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("apply panicked: %v", p)
		}
	}()
	t.apply(changes, reset)
	return nil
}

var errApply = errors.New("apply failed")

// poll reads everything above the cursor, applies what is new, and moves
// the cursor over the seqs that are settled: present, or missing for longer
// than the grace (see the package doc).
func (t *Tailer) poll(ctx context.Context) error {
	began := time.Now()
	// limit: missing seqs at or below it have been missing for a grace
	// period. A gapless log has no seqs in flight: every hole is final.
	limit := int64(-1)
	for _, m := range t.marks {
		if m.at.Add(t.opts.Grace).After(began) {
			break
		}
		limit = m.horizon
	}
	cursor, blocked, top := t.cursor, false, t.cursor
	after := t.cursor
	for {
		page, err := t.log.Since(ctx, after, t.opts.Batch)
		if err != nil {
			t.advance(cursor, top, blocked, limit)
			return err
		}
		now := time.Now()
		var fresh []Change
		for _, c := range page {
			top = max(top, c.Seq)
			if !blocked {
				switch {
				case c.Seq == cursor+1, t.gapless, c.Seq-1 <= limit:
					cursor = c.Seq
				default:
					cursor, blocked = max(cursor, limit), true
				}
			}
			s, ok := t.seen[c.Key]
			if !ok && c.Deleted && c.Seq <= t.top {
				// Read again in the lookback window: the key was gone
				// when the snapshot was taken, so this delete is no news.
				continue
			}
			if ok && c.Version <= s.version {
				if c.Seq > s.seq { // re-stamped: same version at a new seq
					s.seq = c.Seq
					t.seen[c.Key] = s
				}
				continue
			}
			t.seen[c.Key] = seen{version: c.Version, seq: c.Seq, at: now}
			fresh = append(fresh, c)
		}
		if len(fresh) > 0 {
			if err := t.call(fresh, false); err != nil {
				t.logger.ErrorContext(ctx, "feed: apply failed, reloading the snapshot", "err", err)
				if !t.load(ctx) {
					return ctx.Err()
				}
				return fmt.Errorf("%w: %w", errApply, err)
			}
		}
		if len(page) < t.opts.Batch {
			break
		}
		after = page[len(page)-1].Seq
	}
	t.advance(cursor, top, blocked, limit)
	return nil
}

// advance moves the cursor to what poll settled, records the new horizon
// and forgets dedupe state the cursor has passed.
func (t *Tailer) advance(cursor, top int64, blocked bool, limit int64) {
	if !blocked {
		// Seqs up to limit that were read once and are gone now (a
		// compacted tombstone at the top, on MongoDB) are settled too.
		cursor = max(cursor, limit)
	}
	t.cursor = cursor
	now := time.Now()
	// A new mark at most every half poll keeps the list short (Grace/Poll
	// marks or so). Seqs first read between marks get the next mark's
	// later time, which only makes them wait a little longer.
	if last := len(t.marks) - 1; last < 0 && top > cursor ||
		last >= 0 && top > t.marks[last].horizon && now.Sub(t.marks[last].at) >= t.opts.Poll/2 {
		t.marks = append(t.marks, mark{horizon: top, at: now})
	}
	keep := t.marks[:0]
	for _, m := range t.marks {
		if m.horizon > cursor {
			keep = append(keep, m)
		}
	}
	t.marks = keep
	// A key whose change the cursor has passed cannot be read again unless
	// it is rewritten, at a newer version, or re-stamped soon after its
	// write: keep entries for a grace period for the latter.
	for k, s := range t.seen {
		if s.seq <= cursor && now.Sub(s.at) > t.opts.Grace {
			delete(t.seen, k)
		}
	}
}
