package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// userDoc is a user as stored in MongoDB; email_key (the lowercased email)
// carries the unique index, since collations are not in the subset every
// backend honours.
type userDoc struct {
	ID           string        `bson:"_id"`
	Email        string        `bson:"email"`
	EmailKey     string        `bson:"email_key"`
	Name         string        `bson:"name"`
	Role         contract.Role `bson:"role"`
	PasswordHash string        `bson:"password_hash"`
	Version      int64         `bson:"version"`
	CreatedAt    time.Time     `bson:"created_at"`
	UpdatedAt    time.Time     `bson:"updated_at"`
	// Outbox holds the events of the user's writes until the relay has
	// published them: set on insert, pushed to by updates (outbox.Pending).
	Outbox outbox.Pending `bson:"outbox,omitempty"`
}

func toUserDoc(u UserRecord) userDoc {
	return userDoc{ID: u.ID, Email: u.Email, EmailKey: emailKey(u.Email), Name: u.Name, Role: u.Role,
		PasswordHash: u.PasswordHash, Version: u.Version, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

func (d userDoc) record() UserRecord {
	return UserRecord{User: contract.User{ID: d.ID, Email: d.Email, Name: d.Name, Role: d.Role, Version: d.Version,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}, PasswordHash: d.PasswordHash}
}

type sessionDoc struct {
	ID            string    `bson:"_id"`
	TokenHash     string    `bson:"token_hash"`
	UserID        string    `bson:"user_id"`
	CreatedAt     time.Time `bson:"created_at"`
	LastSeenAt    time.Time `bson:"last_seen_at"`
	IdleExpiresAt time.Time `bson:"idle_expires_at"`
	ExpiresAt     time.Time `bson:"expires_at"`
	IP            string    `bson:"ip"`
	UserAgent     string    `bson:"user_agent"`
}

func (d sessionDoc) record() SessionRecord {
	r := SessionRecord(d)
	r.CreatedAt, r.LastSeenAt, r.IdleExpiresAt, r.ExpiresAt = d.CreatedAt.UTC(), d.LastSeenAt.UTC(), d.IdleExpiresAt.UTC(), d.ExpiresAt.UTC()
	return r
}

type throttleDoc struct {
	Key          string    `bson:"_id"`
	Failures     int64     `bson:"failures"`
	BlockedUntil time.Time `bson:"blocked_until"`
	ExpiresAt    time.Time `bson:"expires_at"`
}

type resetDoc struct {
	TokenHash string    `bson:"_id"`
	UserID    string    `bson:"user_id"`
	CreatedAt time.Time `bson:"created_at"`
	ExpiresAt time.Time `bson:"expires_at"`
}

// mongoStore keeps every write to one document, in the subset of MongoDB
// that FerretDB honours: counters are one findOneAndUpdate with $inc, and
// a user write's events travel in the user's document (outbox.Pending,
// outbox.Push), the one atomic unit without transactions.
type mongoStore struct {
	db                                *mongo.Database
	users, sessions, throttle, resets *mongo.Collection
}

// withoutOutbox is the projection of a user read: the pending events are
// the relay's business.
var withoutOutbox = bson.D{{Key: outbox.Field, Value: 0}}

func openMongoStore(ctx context.Context, db *store.DB) (*mongoStore, error) {
	mdb, err := db.Mongo(ctx, "auth", store.Indexes{
		"users": {
			{Keys: bson.D{{Key: "email_key", Value: 1}}, Options: options.Index().SetUnique(true).SetName("email_unique")},
			outbox.Index(),
		},
		"sessions": {
			{Keys: bson.D{{Key: "token_hash", Value: 1}}, Options: options.Index().SetUnique(true).SetName("token_unique")},
			{Keys: bson.D{{Key: "user_id", Value: 1}, {Key: "created_at", Value: 1}}, Options: options.Index().SetName("by_user")},
		},
		"reset_tokens": {{Keys: bson.D{{Key: "user_id", Value: 1}}, Options: options.Index().SetName("by_user")}},
	})
	if err != nil {
		return nil, err
	}
	return &mongoStore{db: mdb, users: mdb.Collection("users"), sessions: mdb.Collection("sessions"),
		throttle: mdb.Collection("throttle"), resets: mdb.Collection("reset_tokens")}, nil
}

func id(v string) bson.D { return bson.D{{Key: "_id", Value: v}} }

// InsertUser inserts the user with its events in its outbox: one
// document, so both are written or neither (a taken email writes nothing).
func (s *mongoStore) InsertUser(ctx context.Context, u UserRecord, events ...outbox.Event) error {
	d := toUserDoc(u)
	d.Outbox = events
	_, err := s.users.InsertOne(ctx, d)
	if store.IsDuplicate(err) {
		return fmt.Errorf("insert user: %w", store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("insert user %s: %w", u.ID, err)
	}
	return nil
}

func (s *mongoStore) userBy(ctx context.Context, filter bson.D) (UserRecord, error) {
	var d userDoc
	err := s.users.FindOne(ctx, filter, options.FindOne().SetProjection(withoutOutbox)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return UserRecord{}, store.ErrNotFound
	}
	if err != nil {
		return UserRecord{}, fmt.Errorf("find in %s: %w", s.users.Name(), err)
	}
	return d.record(), nil
}

func (s *mongoStore) UserByID(ctx context.Context, uid string) (UserRecord, error) {
	return s.userBy(ctx, id(uid))
}

func (s *mongoStore) UserByEmail(ctx context.Context, email string) (UserRecord, error) {
	return s.userBy(ctx, bson.D{{Key: "email_key", Value: emailKey(email)}})
}

// UpdateUser sets every field but the outbox, and pushes the events onto
// it, in the one conditional update: events pending from earlier writes,
// and a relay's lease on them, stay as they are.
func (s *mongoStore) UpdateUser(ctx context.Context, u UserRecord, expect int64, events ...outbox.Event) error {
	d := toUserDoc(u)
	update := bson.D{{Key: "$set", Value: bson.D{
		{Key: "email", Value: d.Email}, {Key: "email_key", Value: d.EmailKey}, {Key: "name", Value: d.Name}, {Key: "role", Value: d.Role},
		{Key: "password_hash", Value: d.PasswordHash}, {Key: "version", Value: d.Version}, {Key: "updated_at", Value: d.UpdatedAt},
	}}}
	if len(events) > 0 {
		update = append(update, outbox.Push(events...))
	}
	res, err := s.users.UpdateOne(ctx, bson.D{{Key: "_id", Value: u.ID}, {Key: "version", Value: expect}}, update)
	if store.IsDuplicate(err) {
		return fmt.Errorf("update user %s: %w", u.ID, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("update user %s: %w", u.ID, err)
	}
	if res.MatchedCount == 0 {
		if _, err := s.UserByID(ctx, u.ID); err != nil {
			return err
		}
		return store.ErrStale
	}
	return nil
}

func (s *mongoStore) ListUsers(ctx context.Context, after string, limit int) ([]contract.User, int, error) {
	total, err := s.users.CountDocuments(ctx, bson.D{})
	if err != nil {
		return nil, 0, fmt.Errorf("count users: %w", err)
	}
	cur, err := s.users.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)).
			SetProjection(withoutOutbox))
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	var docs []userDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	out := make([]contract.User, len(docs))
	for i, d := range docs {
		out[i] = d.record().User
	}
	return out, int(total), nil
}

func (s *mongoStore) InsertSession(ctx context.Context, r SessionRecord) error {
	_, err := s.sessions.InsertOne(ctx, sessionDoc(r))
	if store.IsDuplicate(err) {
		return fmt.Errorf("insert session: %w", store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	return nil
}

func live(now time.Time) bson.D {
	return bson.D{{Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now}}}, {Key: "idle_expires_at", Value: bson.D{{Key: "$gt", Value: now}}}}
}

// SessionByToken is two point reads: MongoDB has no join in the subset
// every backend honours, and the role must be the user's current one.
func (s *mongoStore) SessionByToken(ctx context.Context, tokenHash string, now time.Time) (SessionRecord, contract.Role, error) {
	d, err := store.FindOne[sessionDoc](ctx, s.sessions, append(bson.D{{Key: "token_hash", Value: tokenHash}}, live(now)...))
	if err != nil {
		return SessionRecord{}, "", err
	}
	var u struct {
		Role contract.Role `bson:"role"`
	}
	err = s.users.FindOne(ctx, id(d.UserID), options.FindOne().SetProjection(bson.D{{Key: "role", Value: 1}})).Decode(&u)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return SessionRecord{}, "", store.ErrNotFound
	}
	if err != nil {
		return SessionRecord{}, "", fmt.Errorf("resolve session: %w", err)
	}
	return d.record(), u.Role, nil
}

func (s *mongoStore) TouchSession(ctx context.Context, sid string, lastSeen, idleExpires time.Time) error {
	_, err := s.sessions.UpdateOne(ctx, bson.D{{Key: "_id", Value: sid}, {Key: "last_seen_at", Value: bson.D{{Key: "$lt", Value: lastSeen}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "last_seen_at", Value: lastSeen}, {Key: "idle_expires_at", Value: idleExpires}}}})
	if err != nil {
		return fmt.Errorf("touch session %s: %w", sid, err)
	}
	return nil
}

func (s *mongoStore) Sessions(ctx context.Context, userID string, now time.Time) ([]SessionRecord, error) {
	return store.FindAll(ctx, s.sessions, append(bson.D{{Key: "user_id", Value: userID}}, live(now)...),
		bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}, sessionDoc.record)
}

func (s *mongoStore) DeleteSession(ctx context.Context, userID, sid string) error {
	res, err := s.sessions.DeleteOne(ctx, bson.D{{Key: "_id", Value: sid}, {Key: "user_id", Value: userID}})
	if err != nil {
		return fmt.Errorf("delete session %s: %w", sid, err)
	}
	if res.DeletedCount == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (s *mongoStore) DeleteSessionByToken(ctx context.Context, tokenHash string) error {
	if _, err := s.sessions.DeleteOne(ctx, bson.D{{Key: "token_hash", Value: tokenHash}}); err != nil {
		return fmt.Errorf("delete session by token: %w", err)
	}
	return nil
}

func (s *mongoStore) DeleteUserSessions(ctx context.Context, userID, except string) (int, error) {
	res, err := s.sessions.DeleteMany(ctx, bson.D{{Key: "user_id", Value: userID}, {Key: "_id", Value: bson.D{{Key: "$ne", Value: except}}}})
	if err != nil {
		return 0, fmt.Errorf("delete sessions of %s: %w", userID, err)
	}
	return int(res.DeletedCount), nil
}

func (s *mongoStore) AddFailure(ctx context.Context, key string, expires time.Time) (int64, error) {
	var d throttleDoc
	err := s.throttle.FindOneAndUpdate(ctx, id(key), bson.D{
		{Key: "$inc", Value: bson.D{{Key: "failures", Value: int64(1)}}},
		{Key: "$setOnInsert", Value: bson.D{{Key: "blocked_until", Value: time.UnixMilli(0).UTC()}, {Key: "expires_at", Value: expires}}},
	}, options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&d)
	if err != nil {
		return 0, fmt.Errorf("count failure: %w", err)
	}
	return d.Failures, nil
}

func (s *mongoStore) BlockUntil(ctx context.Context, key string, until time.Time) error {
	_, err := s.throttle.UpdateOne(ctx, bson.D{{Key: "_id", Value: key}, {Key: "blocked_until", Value: bson.D{{Key: "$lt", Value: until}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "blocked_until", Value: until}}}})
	if err != nil {
		return fmt.Errorf("block: %w", err)
	}
	return nil
}

func (s *mongoStore) Throttles(ctx context.Context, keys []string) (map[string]Throttle, error) {
	out := map[string]Throttle{}
	if len(keys) == 0 {
		return out, nil
	}
	docs, err := store.FindAll(ctx, s.throttle, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: keys}}}}, bson.D{{Key: "_id", Value: 1}},
		func(d throttleDoc) throttleDoc { return d })
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		out[d.Key] = Throttle{Failures: d.Failures, BlockedUntil: d.BlockedUntil.UTC()}
	}
	return out, nil
}

func (s *mongoStore) ClearThrottles(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	if _, err := s.throttle.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: keys}}}}); err != nil {
		return fmt.Errorf("clear throttles: %w", err)
	}
	return nil
}

// InsertResetToken inserts first and then deletes the others, so that a
// user always has the newest token and never none (no transactions here).
func (s *mongoStore) InsertResetToken(ctx context.Context, r ResetToken) error {
	if _, err := s.resets.InsertOne(ctx, resetDoc(r)); err != nil {
		return fmt.Errorf("insert reset token: %w", err)
	}
	if _, err := s.resets.DeleteMany(ctx, bson.D{{Key: "user_id", Value: r.UserID}, {Key: "_id", Value: bson.D{{Key: "$ne", Value: r.TokenHash}}}}); err != nil {
		return fmt.Errorf("replace reset tokens: %w", err)
	}
	return nil
}

func (s *mongoStore) TakeResetToken(ctx context.Context, tokenHash string, now time.Time) (ResetToken, error) {
	var d resetDoc
	err := s.resets.FindOneAndDelete(ctx, bson.D{{Key: "_id", Value: tokenHash}, {Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now}}}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return ResetToken{}, store.ErrNotFound
	}
	if err != nil {
		return ResetToken{}, fmt.Errorf("take reset token: %w", err)
	}
	r := ResetToken(d)
	r.CreatedAt, r.ExpiresAt = d.CreatedAt.UTC(), d.ExpiresAt.UTC()
	return r, nil
}

func (s *mongoStore) DeleteResetTokens(ctx context.Context, userID string) error {
	if _, err := s.resets.DeleteMany(ctx, bson.D{{Key: "user_id", Value: userID}}); err != nil {
		return fmt.Errorf("delete reset tokens: %w", err)
	}
	return nil
}

func (s *mongoStore) Sweep(ctx context.Context, now time.Time) (int, error) {
	past := bson.D{{Key: "$lte", Value: now}}
	total := 0
	for _, q := range []struct {
		coll   *mongo.Collection
		filter bson.D
	}{
		{s.sessions, bson.D{{Key: "$or", Value: bson.A{bson.D{{Key: "expires_at", Value: past}}, bson.D{{Key: "idle_expires_at", Value: past}}}}}},
		{s.throttle, bson.D{{Key: "expires_at", Value: past}, {Key: "blocked_until", Value: past}}},
		{s.resets, bson.D{{Key: "expires_at", Value: past}}},
	} {
		res, err := q.coll.DeleteMany(ctx, q.filter)
		if err != nil {
			return total, fmt.Errorf("sweep %s: %w", q.coll.Name(), err)
		}
		total += int(res.DeletedCount)
	}
	return total, nil
}

// Outbox is the relay's source: the events pending in the user documents.
func (s *mongoStore) Outbox() outbox.Source { return outbox.Mongo(s.db, s.users.Name()) }
