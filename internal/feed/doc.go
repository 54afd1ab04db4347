// Package feed is the change feed that keeps a read model (filter's facet
// index, seo's slug registry) right in every process that serves it.
//
// # Why
//
// A read model lives in memory in every instance, but an event reaches one
// of them: with several workers on the memory bus each worker has its own
// in-process bus, so an event reaches only the worker that published it;
// with several instances competing for one AMQP subscription queue, it
// reaches whichever took it. So events do not feed the memory directly. The
// module's consumer group writes each change into the module's own store,
// a [Log], where every write of a key gets the next change sequence (seq);
// every instance runs a [Tailer] that loads a snapshot at start and then
// reads the log above its cursor into memory, polling every 100 ms (and at
// once on [Tailer.Notify]). Every instance thus sees every change within
// about a poll interval, whichever instance consumed the event, and a
// consumer that was down catches up from its durable queue into the log.
//
// # Use
//
// In a read-model module (filter, seo), every instance:
//
//	l, err := feed.Open(ctx, db, "filter", "products")
//	tl := feed.NewTailer(l, index.Apply, feed.TailerOptions{})
//	s.Go("feed products", tl.Run)          // bus.Server; tl.Ready for readiness
//	bus.On(b, contract.ProductUpdated, "filter", func(ctx context.Context, ev contract.ProductEvent, _ *bus.Event) error {
//		_, err := l.Put(ctx, ev.ID, ev.Version, doc(ev)) // l.Delete for a removal
//		tl.Notify()                                      // this instance sees it at once
//		return err                                       // an error redelivers
//	})
//
// and, on a ticker, l.Compact(ctx, feed.DefaultTombstoneAge).
//
// # The shape
//
// A log holds one entry per key: its latest state (body, or a tombstone),
// the source entity's version and the seq of its last write. A write with a
// version not newer than the stored one is refused (applied=false), which
// makes redelivered and reordered events harmless. A rewrite moves the key
// to a new seq, so the log never grows beyond one row per key, and a
// restart costs one query: Snapshot returns the live entries and the seq to
// tail from, with no history to replay.
//
// On SQLite (table feed_<name> in the module's own file, with its own
// migration history through store.SQLitePart) a write is one statement that
// takes MAX(seq)+1 under SQLite's write lock: seqs commit in order, and a
// tailer that has read seq n has every seq below it. A missing seq is then
// always final: the old place of a rewritten key.
//
// On MongoDB (collection feed_<name> in the module's database) there are no
// multi-document transactions (FerretDB has none at all), so a write first
// takes a seq from a counter document (feed_seq, $inc) and then upserts the
// entry filtered on {_id: key, version: {$lt: version}}. Between the two
// steps a tailer can read seq 7 before seq 6 is written, and a seq can stay
// missing for ever (a lost version race, a crashed writer, a rewritten
// key). A unique index on seq keeps two writes from ever sharing one, even
// when the counter loses an increment (FerretDB does across clients); the
// writer then takes another.
//
// # The cursor is a low watermark
//
// The tailer applies everything it reads, but moves its cursor only over
// seqs that are settled: present, or missing for longer than a grace
// period (2 s) after a higher seq was first read. Until then it reads again
// from the cursor at every poll, so a late write (seq 6 after 7) is still
// seen, and a permanent gap holds the cursor, never the changes above it,
// for at most the grace. Reading again is harmless: the tailer remembers
// the version it last applied for each key above the cursor and passes a
// (key, version) to the callback once; the callback gets Version, and its
// state is keyed, so the rare repeat (see [Tailer]) replaces an entry with
// itself. The grace must exceed a writer's time from taking a seq to
// writing it; Put re-stamps a write that took longer than a quarter of the
// grace with a fresh seq, so a stalled writer cannot slip behind a cursor.
// On SQLite, where no write is ever in flight, the cursor passes gaps at
// once.
//
// # Lookback after a MongoDB snapshot
//
// Snapshot reads the counter, then the entries. A write whose seq was
// taken before that read but which landed after the scan is in neither the
// snapshot nor above its seq, so the tailer starts its cursor a bounded
// lookback (1000 seqs, at least the writes that can be in flight at once)
// below the snapshot's seq: it reads that window once more, skips what the
// snapshot had, and lets the grace settle the rest.
//
// # Tombstones
//
// A delete leaves a tombstone, so that tailers learn of it. Snapshots skip
// tombstones, so they are needed only by tailers already running; Compact
// removes those older than an hour (DefaultTombstoneAge). Only a tailer that
// could not read its log for longer could miss a delete, and a tailer cut
// off for DefaultResync (30 min) reloads a snapshot instead of tailing on.
// On SQLite the tombstone holding the top seq stays, because Put allocates
// MAX(seq)+1 and would hand that seq out again.
package feed
