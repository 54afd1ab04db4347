package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/shopengine/shop/internal/store"
)

// seqCollection holds one counter document per feed of the module.
const seqCollection = "feed_seq"

// restampAfter: a write that lands this long after its seq was allocated
// may already be behind a tailer's cursor (the grace is DefaultGrace), so
// Put moves it to a fresh seq. It stays well below DefaultGrace.
const restampAfter = DefaultGrace / 4

// putAttempts bounds the retries of a write whose seq turned out taken
// (the unique seq index refused it: a counter that lost an increment, which
// FerretDB does across clients) or whose insert raced another.
const putAttempts = 8

type mongoLog struct {
	name    string
	entries *mongo.Collection
	seqs    *mongo.Collection
	counter string // _id of the counter document
	// stall, in tests, delays a write between taking its seq and
	// writing: the slow or stalled writer of the package doc.
	stall func(key string)
}

type mongoEntry struct {
	Key       string    `bson:"_id"`
	Seq       int64     `bson:"seq"`
	Version   int64     `bson:"version"`
	Deleted   bool      `bson:"deleted"`
	Body      []byte    `bson:"body"`
	WrittenAt time.Time `bson:"written_at"`
}

func (e mongoEntry) change() Change {
	return Change{Key: e.Key, Seq: e.Seq, Version: e.Version, Deleted: e.Deleted, Body: e.Body}
}

func openMongo(ctx context.Context, db *store.DB, module, name string) (*mongoLog, error) {
	t := table(name)
	m, err := db.Mongo(ctx, module, store.Indexes{t: {
		// Unique: two writes can never share a seq, whatever the counter
		// does; Since reads by it.
		{Keys: bson.D{{Key: "seq", Value: 1}}, Options: options.Index().SetUnique(true)},
		// Compact.
		{Keys: bson.D{{Key: "deleted", Value: 1}, {Key: "written_at", Value: 1}}},
	}})
	if err != nil {
		return nil, fmt.Errorf("feed %s: open: %w", name, err)
	}
	return &mongoLog{name: name, entries: m.Collection(t), seqs: m.Collection(seqCollection), counter: t}, nil
}

func (l *mongoLog) Name() string { return l.name }

func (l *mongoLog) Put(ctx context.Context, key string, version int64, body []byte) (bool, error) {
	return checkedWrite(ctx, l.name, l.write, key, version, false, body)
}

func (l *mongoLog) Delete(ctx context.Context, key string, version int64) (bool, error) {
	return checkedWrite(ctx, l.name, l.write, key, version, true, nil)
}

// allocate takes the next seq from the feed's counter document.
func (l *mongoLog) allocate(ctx context.Context) (int64, error) {
	var c struct {
		Seq int64 `bson:"seq"`
	}
	for attempt := 1; ; attempt++ {
		err := l.seqs.FindOneAndUpdate(ctx,
			bson.D{{Key: "_id", Value: l.counter}},
			bson.D{{Key: "$inc", Value: bson.D{{Key: "seq", Value: int64(1)}}}},
			options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After),
		).Decode(&c)
		// Two first allocations can both try to insert the counter; the
		// loser finds it on the next try.
		if err != nil && store.IsDuplicate(err) && attempt < 3 {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("allocate seq: %w", err)
		}
		return c.Seq, nil
	}
}

// stored reports the stored version of key, or 0 when there is none.
func (l *mongoLog) stored(ctx context.Context, key string) (int64, error) {
	var e struct {
		Version int64 `bson:"version"`
	}
	err := l.entries.FindOne(ctx, bson.D{{Key: "_id", Value: key}}, options.FindOne().SetProjection(bson.D{{Key: "version", Value: 1}})).Decode(&e)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read version: %w", err)
	}
	return e.Version, nil
}

// write is the version-checked upsert. Allocating the seq and writing are
// two steps here (no transactions on FerretDB): a tailer may see a later
// seq first, or never see a seq at all (lost race, crashed writer, a key
// rewritten to a new seq); the tailer's low watermark handles both.
func (l *mongoLog) write(ctx context.Context, key string, version int64, deleted bool, body []byte) (bool, error) {
	for range putAttempts {
		allocated := time.Now()
		seq, err := l.allocate(ctx)
		if err != nil {
			return false, err
		}
		if l.stall != nil {
			l.stall(key)
		}
		_, err = l.entries.UpdateOne(ctx,
			bson.D{{Key: "_id", Value: key}, {Key: "version", Value: bson.D{{Key: "$lt", Value: version}}}},
			bson.D{{Key: "$set", Value: bson.D{
				{Key: "seq", Value: seq}, {Key: "version", Value: version}, {Key: "deleted", Value: deleted},
				{Key: "body", Value: body}, {Key: "written_at", Value: store.Now()},
			}}},
			options.UpdateOne().SetUpsert(true))
		if err == nil {
			if time.Since(allocated) > restampAfter {
				l.restamp(ctx, key, seq)
			}
			return true, nil
		}
		if !store.IsDuplicate(err) {
			return false, err
		}
		// A duplicate _id: the filter missed because the stored version is
		// not older, and the upsert's insert collided: an old or
		// redelivered event (its seq stays a gap). Or a duplicate seq: the
		// counter handed out a taken one; take another.
		cur, err := l.stored(ctx, key)
		if err != nil {
			return false, err
		}
		if cur >= version {
			return false, nil
		}
	}
	return false, fmt.Errorf("no free seq after %d attempts", putAttempts)
}

// restamp moves key, still at seq, to a fresh seq: its write came so late
// that tailers may have passed seq as a permanent gap. Unless a newer write
// moved the key meanwhile (then that write's seq is fresh already). A
// failure leaves the write in place and is logged: the data is stored; only
// a tailer that already passed seq misses it until the key's next write.
func (l *mongoLog) restamp(ctx context.Context, key string, seq int64) {
	for range putAttempts {
		allocated := time.Now()
		fresh, err := l.allocate(ctx)
		if err == nil {
			var res *mongo.UpdateResult
			res, err = l.entries.UpdateOne(ctx,
				bson.D{{Key: "_id", Value: key}, {Key: "seq", Value: seq}},
				bson.D{{Key: "$set", Value: bson.D{{Key: "seq", Value: fresh}}}})
			if err == nil && (res.MatchedCount == 0 || time.Since(allocated) <= restampAfter) {
				return
			}
			if err == nil {
				seq = fresh // late again: once more
				continue
			}
		}
		if !store.IsDuplicate(err) {
			slog.WarnContext(ctx, "feed: restamp of a late write failed", "feed", l.name, "key", key, "seq", seq, "err", err)
			return
		}
	}
	slog.WarnContext(ctx, "feed: restamp of a late write gave up", "feed", l.name, "key", key, "seq", seq)
}

func (l *mongoLog) Get(ctx context.Context, key string) (Change, error) {
	e, err := store.FindOne[mongoEntry](ctx, l.entries, bson.D{{Key: "_id", Value: key}})
	if err != nil {
		return Change{}, fmt.Errorf("feed %s: get %s: %w", l.name, key, err)
	}
	return e.change(), nil
}

// Snapshot reads the counter before the entries: a write allocated after
// that read has a seq above the returned one and is tailed; one allocated
// before it is in the scan unless it was still in flight, which the
// tailer's lookback covers.
func (l *mongoLog) Snapshot(ctx context.Context) ([]Change, int64, error) {
	var c struct {
		Seq int64 `bson:"seq"`
	}
	err := l.seqs.FindOne(ctx, bson.D{{Key: "_id", Value: l.counter}}).Decode(&c)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return nil, 0, fmt.Errorf("feed %s: snapshot: read counter: %w", l.name, err)
	}
	out, err := store.FindAll(ctx, l.entries, bson.D{{Key: "deleted", Value: false}}, nil, mongoEntry.change)
	if err != nil {
		return nil, 0, fmt.Errorf("feed %s: snapshot: %w", l.name, err)
	}
	return out, c.Seq, nil
}

func (l *mongoLog) Since(ctx context.Context, after int64, limit int) ([]Change, error) {
	if err := checkLimit(limit); err != nil {
		return nil, fmt.Errorf("feed %s: since %d: %w", l.name, after, err)
	}
	cur, err := l.entries.Find(ctx, bson.D{{Key: "seq", Value: bson.D{{Key: "$gt", Value: after}}}},
		options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("feed %s: since %d: %w", l.name, after, err)
	}
	var docs []mongoEntry
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("feed %s: since %d: %w", l.name, after, err)
	}
	out := make([]Change, len(docs))
	for i, d := range docs {
		out[i] = d.change()
	}
	return out, nil
}

// Compact may remove any old tombstone, the highest seq's too: the counter
// document, not the entries, hands out seqs.
func (l *mongoLog) Compact(ctx context.Context, olderThan time.Duration) (int64, error) {
	res, err := l.entries.DeleteMany(ctx, bson.D{
		{Key: "deleted", Value: true},
		{Key: "written_at", Value: bson.D{{Key: "$lt", Value: store.Now().Add(-olderThan)}}},
	})
	if err != nil {
		return 0, fmt.Errorf("feed %s: compact: %w", l.name, err)
	}
	return res.DeletedCount, nil
}
