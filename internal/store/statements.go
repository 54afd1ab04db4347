package store

import (
	"context"
	"database/sql"
	"sync"
)

// MaxStatements bounds the queries a Statements keeps prepared; a query
// past it runs unprepared. A store's read queries have a few dozen shapes
// (sorts, filters, the length of an IN list), so the bound only stops a
// bug that builds unbounded query texts from growing the cache.
const MaxStatements = 512

// Statements is a Querier over a *sql.DB that prepares each distinct
// query text once and reuses the statement (database/sql prepares it
// again on each connection it runs on, once). Parsing and planning a
// query costs SQLite about as much as running a short indexed one, so a
// hot read path — a category's product page — halves its cost by not
// parsing on every call. It is safe for concurrent use and lives as long
// as the *sql.DB.
type Statements struct {
	db    *sql.DB
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

// NewStatements returns an empty statement cache over db.
func NewStatements(db *sql.DB) *Statements {
	return &Statements{db: db, stmts: map[string]*sql.Stmt{}}
}

// stmt returns the prepared statement of query, preparing it on first
// use; nil when the cache is full or query does not prepare (the caller
// then runs it on the DB, which reports the same error).
func (s *Statements) stmt(ctx context.Context, query string) *sql.Stmt {
	s.mu.RLock()
	st, ok := s.stmts[query]
	s.mu.RUnlock()
	if ok {
		return st
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st
	}
	if len(s.stmts) >= MaxStatements {
		return nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	s.stmts[query] = st
	return st
}

// QueryContext implements Querier.
func (s *Statements) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := s.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.db.QueryContext(ctx, query, args...)
}

// QueryRowContext implements Querier.
func (s *Statements) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := s.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.db.QueryRowContext(ctx, query, args...)
}

// Len is the number of statements kept.
func (s *Statements) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.stmts)
}
