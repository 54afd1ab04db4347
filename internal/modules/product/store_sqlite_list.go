package product

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

// The SQLite store's list: pages from the list index, in creation,
// price or name order, by offset or after a keyset position.

// sortKey is the list index column of a sort.
func sortKey(sort string) string {
	switch sort {
	case contract.SortName:
		return "name_key"
	case contract.SortPrice:
		return "price_min"
	}
	return "product_id"
}

func (s *sqlStore) List(ctx context.Context, q Query) ([]contract.ProductSummary, int, error) {
	// Pages come from the primary key in creation order, from the sorted
	// index of a big category, or from sorting a small category's range;
	// a keyset position is a range condition on the same keys. A big
	// category's count is kept in category_counts.
	table, big := "product_categories", false
	if !q.Direct {
		_, err := store.QueryOne(ctx, s.reads, store.ScanValue[int], `SELECT 1 FROM big_categories WHERE category_id = ?`, q.CategoryID)
		switch {
		case err == nil:
			big = true
		case !errors.Is(err, store.ErrNotFound):
			return nil, 0, fmt.Errorf("list products: %w", err)
		}
	}
	if big && (q.Sort == contract.SortPrice || q.Sort == contract.SortName) {
		table = "product_sorted"
	}
	// Numbered parameters, each bound once however often the arms of the
	// query below repeat it.
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "?" + strconv.Itoa(len(args))
	}
	where := `category_id = ` + arg(q.CategoryID)
	if q.Direct {
		where += ` AND direct = 1`
	}
	dir, after := "ASC", ">"
	if q.Desc {
		dir, after = "DESC", "<"
	}
	key := sortKey(q.Sort)
	if a := q.After; a != nil {
		switch q.Sort {
		case contract.SortName:
			where += ` AND (name_key, product_id) ` + after + ` (` + arg(a.NameKey) + `, ` + arg(a.ID) + `)`
		case contract.SortPrice:
			where += ` AND (price_min, product_id) ` + after + ` (` + arg(a.PriceMin) + `, ` + arg(a.ID) + `)`
		default:
			where += ` AND product_id ` + after + ` ` + arg(a.ID)
		}
	}
	var page string
	if q.Status != "" {
		page = `SELECT product_id, ` + key + ` AS k FROM ` + table + ` WHERE ` + where + ` AND status = ` + arg(string(q.Status))
	} else {
		// One ordered range per status, merged by SQLite's compound
		// ORDER BY: a page costs its size, not a sort of the category.
		arms := make([]string, len(statuses))
		for i, st := range statuses {
			arms[i] = `SELECT product_id, ` + key + ` AS k FROM ` + table + ` WHERE ` + where + ` AND status = '` + string(st) + `'`
		}
		page = strings.Join(arms, ` UNION ALL `)
	}
	page += ` ORDER BY k ` + dir + `, product_id ` + dir + ` LIMIT ` + arg(q.Limit) + ` OFFSET ` + arg(q.Offset)
	ids, err := store.QueryAll(ctx, s.reads, func(r store.Scanner) (string, error) {
		var id string
		var k any
		return id, r.Scan(&id, &k)
	}, page, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list products: %w", err)
	}
	total, err := s.count(ctx, q, big)
	if err != nil {
		return nil, 0, err
	}
	items, err := s.summaries(ctx, ids)
	return items, total, err
}

// count is the number of products q matches, wherever the page starts.
func (s *sqlStore) count(ctx context.Context, q Query, big bool) (int, error) {
	count, args := `SELECT COUNT(*) FROM product_categories WHERE category_id = ?`, []any{q.CategoryID}
	if big {
		count = `SELECT COALESCE(SUM(n), 0) FROM category_counts WHERE category_id = ?`
	} else if q.Direct {
		count += ` AND direct = 1`
	}
	if q.Status != "" {
		count += ` AND status = ?`
		args = append(args, q.Status)
	}
	n, err := store.QueryOne(ctx, s.reads, store.ScanValue[int], count, args...)
	return n, wrap(err, "count products")
}

// summaries loads the summaries of ids, in that order.
func (s *sqlStore) summaries(ctx context.Context, ids []string) ([]contract.ProductSummary, error) {
	out := make([]contract.ProductSummary, 0, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	found, err := store.QueryAll(ctx, s.reads, scanSummary, `SELECT id, name, slug, status, category_ids, currency, price_min, price_max, image, version, created_at, updated_at,
		(SELECT COALESCE(SUM(stock), 0) FROM variants WHERE product_id = products.id)
		FROM products WHERE id IN (`+placeholders(len(ids))+`)`, anys(ids)...)
	if err != nil {
		return nil, fmt.Errorf("load product summaries: %w", err)
	}
	byID := make(map[string]contract.ProductSummary, len(found))
	for _, p := range found {
		byID[p.ID] = p
	}
	for _, id := range ids {
		// A product deleted between the two reads drops out of the page.
		if p, ok := byID[id]; ok {
			out = append(out, p)
		}
	}
	return out, nil
}

func scanSummary(row store.Scanner) (contract.ProductSummary, error) {
	var p contract.ProductSummary
	var cats, image string
	var created, updated int64
	if err := row.Scan(&p.ID, &p.Name, &p.Slug, &p.Status, &cats, &p.Currency, &p.PriceMin, &p.PriceMax, &image,
		&p.Version, &created, &updated, &p.TotalStock); err != nil {
		return p, err
	}
	if err := json.Unmarshal([]byte(cats), &p.CategoryIDs); err != nil {
		return p, fmt.Errorf("product %s category_ids: %w", p.ID, err)
	}
	if image != "" {
		p.Image = new(contract.Image)
		if err := json.Unmarshal([]byte(image), p.Image); err != nil {
			return p, fmt.Errorf("product %s image: %w", p.ID, err)
		}
	}
	p.CreatedAt, p.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return p, nil
}
