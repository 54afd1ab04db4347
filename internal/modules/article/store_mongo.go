package article

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// Fields are what a write of an article sets: every field but _id,
// created_at and the outbox. Nil times and cover are written as null
// (no omitempty), so that a $set of them clears what was there.
type Fields struct {
	Title          string     `bson:"title"`
	Slug           string     `bson:"slug"`
	Excerpt        string     `bson:"excerpt"`
	CustomExcerpt  bool       `bson:"custom_excerpt"`
	BodyMarkdown   string     `bson:"body_markdown"`
	BodyHTML       string     `bson:"body_html"` // sanitised, never raw
	Cover          *coverDoc  `bson:"cover"`
	Tags           []string   `bson:"tags"`
	AuthorName     string     `bson:"author_name"`
	Status         string     `bson:"status"`
	PublishAt      *time.Time `bson:"publish_at"`
	PublishedAt    *time.Time `bson:"published_at"`
	ReadingMinutes int        `bson:"reading_min"`
	Featured       bool       `bson:"featured"`
	SortAt         time.Time  `bson:"sort_at"` // see sortAt
	Version        int64      `bson:"version"`
	UpdatedAt      time.Time  `bson:"updated_at"`
}

type coverDoc struct {
	URL string `bson:"url"`
	Alt string `bson:"alt"`
}

// doc is an article as stored in MongoDB: one document, so that every
// write is a single-document operation checked on the version in its
// filter, carrying the events the relay has not published yet.
type doc struct {
	ID        string `bson:"_id"`
	Fields    `bson:",inline"`
	CreatedAt time.Time      `bson:"created_at"`
	Outbox    outbox.Pending `bson:"outbox,omitempty"`
}

func fieldsOf(a contract.Article) Fields {
	f := Fields{Title: a.Title, Slug: a.Slug, Excerpt: a.Excerpt, CustomExcerpt: a.CustomExcerpt,
		BodyMarkdown: a.BodyMarkdown, BodyHTML: a.BodyHTML, Tags: tagsOf(a), AuthorName: a.AuthorName,
		Status: string(a.Status), PublishAt: a.PublishAt, PublishedAt: a.PublishedAt, ReadingMinutes: a.ReadingMinutes,
		Featured: a.Featured, SortAt: sortAt(a), Version: a.Version, UpdatedAt: a.UpdatedAt}
	if a.Cover != nil {
		f.Cover = &coverDoc{URL: a.Cover.URL, Alt: a.Cover.Alt}
	}
	return f
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (d doc) article() contract.Article {
	a := contract.Article{ID: d.ID, Title: d.Title, Slug: d.Slug, Excerpt: d.Excerpt, CustomExcerpt: d.CustomExcerpt,
		BodyMarkdown: d.BodyMarkdown, BodyHTML: d.BodyHTML, Tags: d.Tags, AuthorName: d.AuthorName,
		Status: contract.ArticleStatus(d.Status), PublishAt: utc(d.PublishAt), PublishedAt: utc(d.PublishedAt),
		ReadingMinutes: d.ReadingMinutes, Featured: d.Featured, Version: d.Version,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
	if a.Tags == nil {
		a.Tags = []string{}
	}
	if d.Cover != nil {
		a.Cover = &contract.Image{URL: d.Cover.URL, Alt: d.Cover.Alt}
	}
	return a
}

func (d doc) summary() contract.ArticleSummary { return d.article().Summary() }

// mongoStore keeps articles in "articles".
type mongoStore struct {
	db   *mongo.Database
	coll *mongo.Collection
}

func openMongoStore(ctx context.Context, db *store.DB) (*mongoStore, error) {
	mdb, err := db.Mongo(ctx, contract.ArticleQueue, store.Indexes{"articles": {
		{Keys: bson.D{{Key: "slug", Value: 1}}, Options: options.Index().SetUnique(true).SetName("slug_unique")},
		{Keys: bson.D{{Key: "sort_at", Value: -1}, {Key: "_id", Value: -1}}, Options: options.Index().SetName("by_sort")},
		{Keys: bson.D{{Key: "status", Value: 1}, {Key: "publish_at", Value: 1}}, Options: options.Index().SetName("due")},
		outbox.Index(),
	}})
	if err != nil {
		return nil, err
	}
	return &mongoStore{db: mdb, coll: mdb.Collection("articles")}, nil
}

func (s *mongoStore) Outbox() outbox.Source { return outbox.Mongo(s.db, s.coll.Name()) }

func (s *mongoStore) Insert(ctx context.Context, a contract.Article, events ...outbox.Event) error {
	_, err := s.coll.InsertOne(ctx, doc{ID: a.ID, Fields: fieldsOf(a), CreatedAt: a.CreatedAt, Outbox: events})
	if store.IsDuplicate(err) {
		return fmt.Errorf("insert article %s: %w", a.ID, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("insert article %s: %w", a.ID, err)
	}
	return nil
}

func (s *mongoStore) one(ctx context.Context, what string, filter bson.D) (contract.Article, error) {
	d, err := store.FindOne[doc](ctx, s.coll, filter)
	if err != nil {
		return contract.Article{}, fmt.Errorf("load article %s: %w", what, err)
	}
	return d.article(), nil
}

func (s *mongoStore) Get(ctx context.Context, id string) (contract.Article, error) {
	return s.one(ctx, id, bson.D{{Key: "_id", Value: id}})
}

func (s *mongoStore) BySlug(ctx context.Context, slug string) (contract.Article, error) {
	return s.one(ctx, "by slug "+slug, bson.D{{Key: "slug", Value: slug}})
}

// publicAt is the filter "public at t" (see sortAt).
func publicAt(t time.Time) bson.D {
	return bson.D{
		{Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{string(contract.ArticlePublished), string(contract.ArticleScheduled)}}}},
		{Key: "sort_at", Value: bson.D{{Key: "$lte", Value: t}}},
	}
}

func (s *mongoStore) List(ctx context.Context, q Query) ([]contract.ArticleSummary, int, error) {
	filter := bson.D{}
	if q.Tag != "" {
		filter = append(filter, bson.E{Key: "tags", Value: q.Tag})
	}
	if q.Featured != nil {
		filter = append(filter, bson.E{Key: "featured", Value: *q.Featured})
	}
	if q.Status != "" {
		filter = append(filter, bson.E{Key: "status", Value: string(q.Status)})
	}
	if q.PublicAt != nil {
		filter = append(filter, publicAt(*q.PublicAt)...)
	}
	total, err := s.coll.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, fmt.Errorf("count articles: %w", err)
	}
	if q.After != nil {
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "sort_at", Value: bson.D{{Key: "$lt", Value: q.After.At}}}},
			bson.D{{Key: "sort_at", Value: q.After.At}, {Key: "_id", Value: bson.D{{Key: "$lt", Value: q.After.ID}}}},
		}})
	}
	out, err := store.FindN(ctx, s.coll, filter, bson.D{{Key: "sort_at", Value: -1}, {Key: "_id", Value: -1}}, q.Limit, doc.summary)
	if err != nil {
		return nil, 0, fmt.Errorf("list articles: %w", err)
	}
	return out, int(total), nil
}

// Tags is $match, $unwind and a $group with one $sum (what FerretDB
// honours); the order is made here.
func (s *mongoStore) Tags(ctx context.Context, at *time.Time) ([]contract.ArticleTag, error) {
	match := bson.D{}
	if at != nil {
		match = publicAt(*at)
	}
	cur, err := s.coll.Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: match}},
		{{Key: "$unwind", Value: "$tags"}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$tags"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
	})
	if err != nil {
		return nil, fmt.Errorf("count article tags: %w", err)
	}
	var rows []struct {
		Tag string `bson:"_id"`
		N   int    `bson:"n"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return nil, fmt.Errorf("count article tags: %w", err)
	}
	out := make([]contract.ArticleTag, len(rows))
	for i, r := range rows {
		out[i] = contract.ArticleTag{Tag: r.Tag, Count: r.N}
	}
	slices.SortFunc(out, func(a, b contract.ArticleTag) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Tag, b.Tag)
	})
	return out, nil
}

func (s *mongoStore) Due(ctx context.Context, now time.Time, limit int) ([]contract.Article, error) {
	out, err := store.FindN(ctx, s.coll, bson.D{
		{Key: "status", Value: string(contract.ArticleScheduled)},
		{Key: "publish_at", Value: bson.D{{Key: "$lte", Value: now}}},
	}, bson.D{{Key: "publish_at", Value: 1}, {Key: "_id", Value: 1}}, limit, doc.article)
	if err != nil {
		return nil, fmt.Errorf("scheduled articles due: %w", err)
	}
	return out, nil
}

// Update is one updateOne filtered on the expected version: a
// single-document atomic write, which FerretDB honours. It pushes onto
// the outbox, so events still pending in the document stay.
func (s *mongoStore) Update(ctx context.Context, a contract.Article, expected int64, events ...outbox.Event) error {
	a.Version = expected + 1
	upd := bson.D{{Key: "$set", Value: fieldsOf(a)}}
	if len(events) > 0 {
		upd = append(upd, outbox.Push(events...))
	}
	res, err := s.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: a.ID}, {Key: "version", Value: expected}}, upd)
	if store.IsDuplicate(err) {
		return fmt.Errorf("update article %s: %w", a.ID, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("update article %s: %w", a.ID, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("update article %s at version %d: %w", a.ID, expected, store.MissedDocument(ctx, s.coll, a.ID))
	}
	return nil
}

// Delete seals the article first: one findOneAndUpdate that counts its
// version on (filtered on expected when it is > 0), so a concurrent
// checked write fails and the deleted event's version is one no other
// write announces; then outbox.DeleteWith records the events and deletes
// it. A crash between the two leaves the article at a version no event
// announced, its content unchanged.
func (s *mongoStore) Delete(ctx context.Context, id string, expected int64, deleted func(contract.Article) ([]outbox.Event, error)) (contract.Article, error) {
	filter := bson.D{{Key: "_id", Value: id}}
	if expected > 0 {
		filter = append(filter, bson.E{Key: "version", Value: expected})
	}
	var d doc
	err := s.coll.FindOneAndUpdate(ctx, filter, bson.D{{Key: "$inc", Value: bson.D{{Key: "version", Value: int64(1)}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.Before)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return contract.Article{}, fmt.Errorf("delete article %s at version %d: %w", id, expected, store.MissedDocument(ctx, s.coll, id))
	}
	if err != nil {
		return contract.Article{}, fmt.Errorf("delete article %s: seal: %w", id, err)
	}
	a := d.article()
	evs, err := deleted(a)
	if err != nil {
		return contract.Article{}, fmt.Errorf("delete article %s: events: %w", id, err)
	}
	if _, err := outbox.DeleteWith(ctx, s.db, s.coll.Name(), []string{id}, evs...); err != nil {
		return contract.Article{}, fmt.Errorf("delete article %s: %w", id, err)
	}
	return a, nil
}
