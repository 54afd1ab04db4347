package bus

import (
	"context"
	"encoding/json"
	"fmt"
)

// Endpoint declares an op of a module's queue with its request and reply
// types. Declarations live in internal/contract; callers and handlers both
// use them, so a message-format change breaks the build, not production.
type Endpoint[Req, Resp any] struct {
	Queue string
	Op    string
}

// Call sends req to e and decodes the reply.
func Call[Req, Resp any](ctx context.Context, b Bus, e Endpoint[Req, Resp], req Req) (Resp, error) {
	var resp Resp
	body, err := json.Marshal(req)
	if err != nil {
		return resp, Errorf(CodeInvalid, "%s/%s: encode request: %w", e.Queue, e.Op, err)
	}
	raw, err := b.Request(ctx, e.Queue, e.Op, body)
	if err != nil {
		return resp, err
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		return resp, Errorf(CodeInternal, "%s/%s: decode reply: %w", e.Queue, e.Op, err)
	}
	return resp, nil
}

// Handle registers fn as s's handler for e. The request is decoded strictly
// (see DecodeStrict) before fn runs, so bad input never reaches it.
func Handle[Req, Resp any](s *Service, e Endpoint[Req, Resp], fn func(ctx context.Context, req Req) (Resp, error)) {
	if e.Queue != s.Name() {
		panic(fmt.Sprintf("bus: endpoint %s/%s registered on service %s", e.Queue, e.Op, s.Name()))
	}
	s.Handle(e.Op, func(ctx context.Context, r *Request) ([]byte, error) {
		var req Req
		if err := DecodeStrict(r.Body, &req); err != nil {
			return nil, err
		}
		resp, err := fn(ctx, req)
		if err != nil {
			return nil, err
		}
		return json.Marshal(resp)
	})
}

// EventType declares an event topic with its payload type.
type EventType[T any] struct {
	Topic string
}

// Emit publishes v as an event of type ev.
func Emit[T any](ctx context.Context, b Bus, ev EventType[T], v T) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode event %s: %w", ev.Topic, err)
	}
	return b.Publish(ctx, ev.Topic, body)
}

// On subscribes group to events of type ev. An event whose payload does not
// decode cannot succeed on retry; it is logged by the transport and
// dead-lettered like any event that keeps failing.
func On[T any](b Bus, ev EventType[T], group string, fn func(ctx context.Context, v T, e *Event) error) (Consumer, error) {
	return b.Subscribe(ev.Topic, group, func(ctx context.Context, e *Event) error {
		var v T
		if err := json.Unmarshal(e.Body, &v); err != nil {
			return fmt.Errorf("decode event %s %s: %w", e.Topic, e.ID, err)
		}
		return fn(ctx, v, e)
	})
}
