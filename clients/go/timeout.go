package switchboard

import (
	"context"
	"sync"
	"time"

	"connectrpc.com/connect"
)

// timeoutInterceptor gives a call whose context has no deadline the client's default timeout.
// connect-go sends the context's deadline to the server (Connect-Timeout-Ms, grpc-timeout), so
// the gateway stops working on a call its caller gave up on.
type timeoutInterceptor struct{ timeout time.Duration }

func (t timeoutInterceptor) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if t.timeout <= 0 {
		return ctx, func() {}
	}
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, t.timeout)
}

func (t timeoutInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		ctx, cancel := t.withDeadline(ctx)
		defer cancel()
		return next(ctx, req)
	}
}

func (t timeoutInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		ctx, cancel := t.withDeadline(ctx)
		return &cancelConn{StreamingClientConn: next(ctx, spec), cancel: cancel}
	}
}

func (timeoutInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// cancelConn releases a stream's timer once the stream has ended (Receive failed or reached
// io.EOF) or was closed.
type cancelConn struct {
	connect.StreamingClientConn
	cancel context.CancelFunc
	once   sync.Once
}

func (c *cancelConn) Receive(msg any) error {
	err := c.StreamingClientConn.Receive(msg)
	if err != nil {
		c.once.Do(c.cancel)
	}
	return err
}

func (c *cancelConn) CloseResponse() error {
	err := c.StreamingClientConn.CloseResponse()
	c.once.Do(c.cancel)
	return err
}
