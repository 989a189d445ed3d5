package switchboard

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"time"

	"connectrpc.com/connect"
)

// retryPolicy is the one place that decides whether and when a failed call is retried.
type retryPolicy struct {
	maxRetries int
	initial    time.Duration
	max        time.Duration
	// A server delay longer than this is not waited for: the error is returned instead.
	maxServerDelay time.Duration
	// jitter returns a number in [0, 1); rand.Float64 outside tests.
	jitter func() float64
}

func defaultRetryPolicy() retryPolicy {
	return retryPolicy{
		maxRetries:     2,
		initial:        250 * time.Millisecond,
		max:            5 * time.Second,
		maxServerDelay: 30 * time.Second,
		jitter:         rand.Float64,
	}
}

// delay says how long to wait before retry number `retry` (1-based) after err, or false when err
// must be returned as it is. Only Unavailable is retried: it means the gateway (or the network)
// could not serve the call, so trying again may succeed. ResourceExhausted is never retried: a
// budget does not come back by itself, and a rate limit tells its caller how long to wait. A wait
// that would outlast the context's deadline is not started.
func (p retryPolicy) delay(ctx context.Context, retry int, err error) (time.Duration, bool) {
	if retry > p.maxRetries || ctx.Err() != nil || connect.CodeOf(err) != connect.CodeUnavailable {
		return 0, false
	}
	wait := p.backoff(retry)
	if sbErr, ok := AsError(err); ok {
		switch server := sbErr.RetryDelay; {
		case server < 0:
			return 0, false
		case server > p.maxServerDelay:
			return 0, false
		case server > wait:
			wait = server
		}
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
		return 0, false
	}
	return wait, true
}

// backoff is "full jitter": uniform in [0, min(initial·2^(retry-1), max)).
func (p retryPolicy) backoff(retry int) time.Duration {
	ceiling := p.initial
	for i := 1; i < retry && ceiling < p.max; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, p.max)
	return time.Duration(p.jitter() * float64(ceiling))
}

// sleep waits d, or returns the context's error as a Connect error if it ends first.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		code := connect.CodeCanceled
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			code = connect.CodeDeadlineExceeded
		}
		return connect.NewError(code, ctx.Err())
	}
}

// retryInterceptor retries unary calls, and server streams that failed before their first
// message, as retryPolicy decides.
type retryInterceptor struct{ policy retryPolicy }

func (r retryInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		for retry := 1; ; retry++ {
			res, err := next(ctx, req)
			if err == nil {
				return res, nil
			}
			wait, ok := r.policy.delay(ctx, retry, err)
			if !ok {
				return nil, err
			}
			if sleepErr := sleep(ctx, wait); sleepErr != nil {
				return nil, sleepErr
			}
		}
	}
}

func (r retryInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		if spec.StreamType != connect.StreamTypeServer || r.policy.maxRetries == 0 {
			return conn
		}
		return &retryingConn{StreamingClientConn: conn, ctx: ctx, spec: spec, next: next, policy: r.policy}
	}
}

func (retryInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// retryingConn replays a server stream's request on a fresh connection when the stream fails
// with a retryable error before delivering any message: nothing reached the caller yet, so the
// retry is invisible. Once a message arrived, a failure is the caller's to see (the gateway never
// splices two providers' output into one stream, and neither does the client).
type retryingConn struct {
	connect.StreamingClientConn
	ctx    context.Context
	spec   connect.Spec
	next   connect.StreamingClientFunc
	policy retryPolicy

	sent          []any
	requestClosed bool
	received      bool
	retries       int
}

func (c *retryingConn) Send(msg any) error {
	c.sent = append(c.sent, msg)
	return c.StreamingClientConn.Send(msg)
}

func (c *retryingConn) CloseRequest() error {
	c.requestClosed = true
	return c.StreamingClientConn.CloseRequest()
}

func (c *retryingConn) Receive(msg any) error {
	for {
		err := c.StreamingClientConn.Receive(msg)
		if err == nil {
			c.received = true
			return nil
		}
		if c.received || !c.requestClosed || errors.Is(err, io.EOF) {
			return err
		}
		c.retries++
		wait, ok := c.policy.delay(c.ctx, c.retries, err)
		if !ok {
			return err
		}
		if sleepErr := sleep(c.ctx, wait); sleepErr != nil {
			return sleepErr
		}
		if reopenErr := c.reopen(); reopenErr != nil {
			return reopenErr
		}
	}
}

// reopen starts the call again on a new connection with the same headers and messages.
func (c *retryingConn) reopen() error {
	old := c.StreamingClientConn
	_ = old.CloseResponse()
	conn := c.next(c.ctx, c.spec)
	// Headers the new connection set itself (protocol headers, a timeout recomputed from the
	// deadline, the key) win; the caller's own headers are carried over.
	header := conn.RequestHeader()
	for key, values := range old.RequestHeader() {
		if _, ok := header[key]; !ok {
			header[key] = append([]string(nil), values...)
		}
	}
	c.StreamingClientConn = conn
	for _, msg := range c.sent {
		if err := conn.Send(msg); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
	}
	return conn.CloseRequest()
}
