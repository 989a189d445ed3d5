package switchboard

import (
	"context"

	"connectrpc.com/connect"
)

// AuthInterceptor returns an interceptor that sends apiKey as "authorization: Bearer <apiKey>"
// on every request, unary and streaming. [New] installs one; use it directly to authenticate the
// generated switchboardv1connect clients without the rest of this package.
func AuthInterceptor(apiKey string) connect.Interceptor {
	return authInterceptor{value: "Bearer " + apiKey}
}

type authInterceptor struct{ value string }

func (a authInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set("Authorization", a.value)
		return next(ctx, req)
	}
}

func (a authInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		conn.RequestHeader().Set("Authorization", a.value)
		return conn
	}
}

func (a authInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}
