package amqp

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/shopengine/shop/internal/bus"
)

// Publish implements bus.Bus: a persistent message on the topic exchange
// <prefix>shop.events, returning once the broker confirmed it.
func (b *Bus) Publish(ctx context.Context, topic string, body []byte) error {
	if err := bus.ValidateTopic(topic); err != nil {
		return err
	}
	if len(body) > bus.MaxBodySize {
		return bus.Errorf(bus.CodeInvalid, "event %s: body of %d bytes exceeds the limit of %d", topic, len(body), bus.MaxBodySize)
	}
	ctx, cancel := bus.Deadline(ctx)
	defer cancel()
	if ctx.Err() != nil {
		return bus.ContextError(ctx, "event", topic)
	}
	meta := bus.MetaFrom(ctx)
	if err := checkMeta(meta); err != nil {
		return err
	}
	s, why := b.session()
	if s == nil {
		return bus.Errorf(bus.CodeUnavailable, "event %s: %s", topic, why)
	}
	now := time.Now()
	dc, err := s.ev.PublishWithDeferredConfirm(b.names.events(), topic, false, false, amqp091.Publishing{
		Headers:      metaHeaders(amqp091.Table{HeaderPublished: now.UnixMilli()}, meta),
		ContentType:  contentJSON,
		DeliveryMode: amqp091.Persistent,
		MessageId:    bus.EventID(ctx),
		Timestamp:    now,
		Type:         topic,
		Body:         body,
	})
	if err != nil {
		return bus.Errorf(bus.CodeUnavailable, "event %s: publish: %w", topic, err)
	}
	ok, err := dc.WaitContext(ctx)
	if err != nil {
		return bus.ContextError(ctx, "event", topic)
	}
	if !ok {
		return bus.Errorf(bus.CodeUnavailable, "event %s: not confirmed by the broker (nack or connection lost)", topic)
	}
	return nil
}

// Subscribe implements bus.Bus: the durable queue
// <prefix>shop.ev.<group>.<pattern>, bound to the events exchange with
// pattern, shared by every subscriber of the group. Events are handled one
// at a time, in order; a failing event is retried bus.EventAttempts times
// with backoff, then dead-lettered.
func (b *Bus) Subscribe(pattern, group string, h bus.EventHandler) (bus.Consumer, error) {
	if err := bus.ValidatePattern(pattern); err != nil {
		return nil, err
	}
	if !validName(group) || len(group) > 100 || strings.Contains(group, ".") {
		return nil, bus.Errorf(bus.CodeInvalid, "subscribe %s: group %q must be 1 to 100 characters without dots or white space", pattern, group)
	}
	queue := b.names.subscription(group, pattern)
	c := &consumer{
		what:    fmt.Sprintf("subscribe %s/%s", group, pattern),
		queue:   queue,
		workers: 1,
		log:     b.log.With("group", group, "pattern", pattern),
		declare: func(ch *amqp091.Channel) error {
			if err := b.declareQueue(ch, queue); err != nil {
				return err
			}
			if err := ch.QueueBind(queue, pattern, b.names.events(), false, nil); err != nil {
				return fmt.Errorf("bind %s to %s: %w", queue, pattern, err)
			}
			return nil
		},
	}
	c.handle = func(a *attachment, d *amqp091.Delivery) { c.handleEvent(a, d, h) }
	return b.start(c)
}

func (c *consumer) handleEvent(a *attachment, d *amqp091.Delivery, h bus.EventHandler) {
	ev := &bus.Event{
		ID:          d.MessageId,
		Topic:       d.RoutingKey,
		Body:        d.Body,
		Published:   d.Timestamp,
		Meta:        metaFrom(d.Headers),
		Redelivered: d.Redelivered,
	}
	if ms, ok := headerInt(d.Headers, HeaderPublished); ok {
		ev.Published = time.UnixMilli(ms)
	}
	backoff := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := callEvent(a.ctx, h, ev)
		if err == nil {
			_ = d.Ack(false)
			return
		}
		if a.ctx.Err() != nil {
			_ = d.Nack(false, true) // this subscriber gave up; back to the queue
			return
		}
		if attempt >= bus.EventAttempts {
			c.log.Error("event dead-lettered", "topic", ev.Topic, "id", ev.ID, "attempts", attempt, "err", err)
			_ = d.Nack(false, false)
			return
		}
		c.log.Warn("event handler failed, retrying", "topic", ev.Topic, "id", ev.ID, "attempt", attempt, "err", err)
		ev.Redelivered = true
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-c.stopping:
			t.Stop()
			_ = d.Nack(false, true) // back to the queue, for the next subscriber
			return
		case <-a.ctx.Done():
			t.Stop()
			_ = d.Nack(false, true)
			return
		}
		backoff = min(2*backoff, time.Second)
	}
}

// callEvent runs h on a copy of ev, turning a panic into an error.
func callEvent(ctx context.Context, h bus.EventHandler, ev *bus.Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("event handler panic: %v", p)
		}
	}()
	e := *ev
	e.Body = bytes.Clone(ev.Body)
	return h(bus.WithMeta(ctx, ev.Meta), &e)
}
