package article

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// schema holds the SQLite schema, one file per migration
// (<version>_<name>.sql, read by store.MigrationsFrom). A released file
// never changes: a change of the schema is a new file.
//
//go:embed schema/*.sql
var schema embed.FS

// sqlStore keeps articles in article.db, and the events of its writes in
// the same file's outbox table, added in each write's transaction.
type sqlStore struct {
	db     *sql.DB
	outbox outbox.Source
}

func openSQLStore(ctx context.Context, db *store.DB) (*sqlStore, error) {
	s, src, err := outbox.OpenSQLite(ctx, db, contract.ArticleQueue, schema)
	if err != nil {
		return nil, err
	}
	return &sqlStore{db: s, outbox: src}, nil
}

func (s *sqlStore) Outbox() outbox.Source { return s.outbox }

// The columns of a whole article, in the order of row and scanArticle;
// summaryColumns leaves out the bodies.
const (
	articleColumns = `id, title, slug, excerpt, custom_excerpt, body_markdown, body_html, cover_url, cover_alt, tags,
		author_name, status, publish_at, published_at, reading_min, featured, sort_at, version, created_at, updated_at`
	summaryColumns = `id, title, slug, excerpt, custom_excerpt, '', '', cover_url, cover_alt, tags,
		author_name, status, publish_at, published_at, reading_min, featured, sort_at, version, created_at, updated_at`
)

func millis(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func fromMillis(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := time.UnixMilli(n.Int64).UTC()
	return &t
}

// row is a's values for articleColumns.
func row(a contract.Article) ([]any, error) {
	tags, err := json.Marshal(tagsOf(a))
	if err != nil {
		return nil, fmt.Errorf("encode tags: %w", err)
	}
	var url, alt string
	if a.Cover != nil {
		url, alt = a.Cover.URL, a.Cover.Alt
	}
	return []any{a.ID, a.Title, a.Slug, a.Excerpt, a.CustomExcerpt, a.BodyMarkdown, a.BodyHTML, url, alt, string(tags),
		a.AuthorName, string(a.Status), millis(a.PublishAt), millis(a.PublishedAt), a.ReadingMinutes, a.Featured,
		sortAt(a).UnixMilli(), a.Version, a.CreatedAt.UnixMilli(), a.UpdatedAt.UnixMilli()}, nil
}

func tagsOf(a contract.Article) []string {
	if a.Tags == nil {
		return []string{}
	}
	return a.Tags
}

func scanArticle(r store.Scanner) (contract.Article, error) {
	var a contract.Article
	var url, alt, tags, status string
	var publishAt, publishedAt sql.NullInt64
	var sortAt, created, updated int64
	if err := r.Scan(&a.ID, &a.Title, &a.Slug, &a.Excerpt, &a.CustomExcerpt, &a.BodyMarkdown, &a.BodyHTML, &url, &alt, &tags,
		&a.AuthorName, &status, &publishAt, &publishedAt, &a.ReadingMinutes, &a.Featured, &sortAt, &a.Version, &created, &updated); err != nil {
		return a, err
	}
	if err := json.Unmarshal([]byte(tags), &a.Tags); err != nil {
		return a, fmt.Errorf("article %s: tags: %w", a.ID, err)
	}
	if url != "" {
		a.Cover = &contract.Image{URL: url, Alt: alt}
	}
	a.Status = contract.ArticleStatus(status)
	a.PublishAt, a.PublishedAt = fromMillis(publishAt), fromMillis(publishedAt)
	a.CreatedAt, a.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return a, nil
}

func scanSummary(r store.Scanner) (contract.ArticleSummary, error) {
	a, err := scanArticle(r)
	return a.Summary(), err
}

func (s *sqlStore) Insert(ctx context.Context, a contract.Article, events ...outbox.Event) error {
	what := "insert article " + a.ID
	vals, err := row(a)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return outbox.InTx(ctx, s.db, what, func(tx *sql.Tx) ([]outbox.Event, error) {
		_, err := tx.ExecContext(ctx, `INSERT INTO articles (`+articleColumns+`) VALUES (?`+strings.Repeat(", ?", len(vals)-1)+`)`, vals...)
		if store.IsDuplicate(err) {
			return nil, fmt.Errorf("%s: %w", what, store.ErrDuplicate)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		return events, nil
	})
}

func (s *sqlStore) one(ctx context.Context, q store.Querier, what, where string, arg any) (contract.Article, error) {
	a, err := store.QueryOne(ctx, q, scanArticle, `SELECT `+articleColumns+` FROM articles WHERE `+where, arg)
	if err != nil {
		return a, fmt.Errorf("load article %s: %w", what, err)
	}
	return a, nil
}

func (s *sqlStore) Get(ctx context.Context, id string) (contract.Article, error) {
	return s.one(ctx, s.db, id, `id = ?`, id)
}

func (s *sqlStore) BySlug(ctx context.Context, slug string) (contract.Article, error) {
	return s.one(ctx, s.db, "by slug "+slug, `slug = ?`, slug)
}

// publicWhere is the condition "public at t" (see sortAt).
const publicWhere = `status IN ('published', 'scheduled') AND sort_at <= ?`

func (s *sqlStore) List(ctx context.Context, q Query) ([]contract.ArticleSummary, int, error) {
	var where []string
	var args []any
	if q.Tag != "" {
		where, args = append(where, `EXISTS (SELECT 1 FROM json_each(articles.tags) WHERE value = ?)`), append(args, q.Tag)
	}
	if q.Featured != nil {
		where, args = append(where, `featured = ?`), append(args, *q.Featured)
	}
	if q.Status != "" {
		where, args = append(where, `status = ?`), append(args, string(q.Status))
	}
	if q.PublicAt != nil {
		where, args = append(where, publicWhere), append(args, q.PublicAt.UnixMilli())
	}
	cond := "1"
	if len(where) > 0 {
		cond = strings.Join(where, " AND ")
	}
	total, err := store.QueryOne(ctx, s.db, store.ScanValue[int], `SELECT COUNT(*) FROM articles WHERE `+cond, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("count articles: %w", err)
	}
	if q.After != nil {
		cond += ` AND (sort_at < ? OR (sort_at = ? AND id < ?))`
		at := q.After.At.UnixMilli()
		args = append(args, at, at, q.After.ID)
	}
	items, err := store.QueryAll(ctx, s.db, scanSummary,
		`SELECT `+summaryColumns+` FROM articles WHERE `+cond+` ORDER BY sort_at DESC, id DESC LIMIT ?`, append(args, q.Limit)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list articles: %w", err)
	}
	return items, total, nil
}

func (s *sqlStore) Tags(ctx context.Context, publicAt *time.Time) ([]contract.ArticleTag, error) {
	cond, args := "1", []any{}
	if publicAt != nil {
		cond, args = publicWhere, append(args, publicAt.UnixMilli())
	}
	tags, err := store.QueryAll(ctx, s.db, func(r store.Scanner) (contract.ArticleTag, error) {
		var t contract.ArticleTag
		err := r.Scan(&t.Tag, &t.Count)
		return t, err
	}, `SELECT j.value, COUNT(*) AS n FROM articles, json_each(articles.tags) AS j WHERE `+cond+`
		GROUP BY j.value ORDER BY n DESC, j.value`, args...)
	if err != nil {
		return nil, fmt.Errorf("count article tags: %w", err)
	}
	return tags, nil
}

func (s *sqlStore) Due(ctx context.Context, now time.Time, limit int) ([]contract.Article, error) {
	due, err := store.QueryAll(ctx, s.db, scanArticle, `SELECT `+articleColumns+` FROM articles
		WHERE status = 'scheduled' AND publish_at <= ? ORDER BY publish_at, id LIMIT ?`, now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("scheduled articles due: %w", err)
	}
	return due, nil
}

// Update is one statement checked on the version, in the transaction
// that adds its events.
func (s *sqlStore) Update(ctx context.Context, a contract.Article, expected int64, events ...outbox.Event) error {
	what := "update article " + a.ID
	a.Version = expected + 1
	vals, err := row(a)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return outbox.InTx(ctx, s.db, what, func(tx *sql.Tx) ([]outbox.Event, error) {
		// Every column but id (vals[0]) and created_at (the last but
		// one), then the condition.
		args := append(slices.Clone(vals[1:len(vals)-2]), vals[len(vals)-1], a.ID, expected)
		res, err := tx.ExecContext(ctx, `UPDATE articles SET title = ?, slug = ?, excerpt = ?, custom_excerpt = ?,
			body_markdown = ?, body_html = ?, cover_url = ?, cover_alt = ?, tags = ?, author_name = ?, status = ?,
			publish_at = ?, published_at = ?, reading_min = ?, featured = ?, sort_at = ?, version = ?, updated_at = ?
			WHERE id = ? AND version = ?`, args...)
		if err == nil {
			if n, _ := res.RowsAffected(); n == 0 {
				err = store.MissedRow(ctx, tx, "articles", a.ID)
			}
		}
		if store.IsDuplicate(err) {
			return nil, fmt.Errorf("%s: %w", what, store.ErrDuplicate)
		}
		if err != nil {
			return nil, fmt.Errorf("%s at version %d: %w", what, expected, err)
		}
		return events, nil
	})
}

// Delete reads the article, deletes it if it is at expected and adds the
// events deleted builds from what it read, in one transaction (which
// holds the write lock from BEGIN).
func (s *sqlStore) Delete(ctx context.Context, id string, expected int64, deleted func(contract.Article) ([]outbox.Event, error)) (contract.Article, error) {
	what := "delete article " + id
	var a contract.Article
	err := outbox.InTx(ctx, s.db, what, func(tx *sql.Tx) ([]outbox.Event, error) {
		var err error
		if a, err = s.one(ctx, tx, id, `id = ?`, id); err != nil {
			return nil, err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM articles WHERE id = ? AND (?2 = 0 OR version = ?2)`, id, expected)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, fmt.Errorf("%s at version %d: %w", what, expected, store.ErrStale)
		}
		evs, err := deleted(a)
		if err != nil {
			return nil, fmt.Errorf("%s: events: %w", what, err)
		}
		return evs, nil
	})
	if err != nil {
		return contract.Article{}, err
	}
	return a, nil
}
