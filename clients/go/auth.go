package switchboard

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"connectrpc.com/connect"
)

// AuthInterceptor returns an interceptor that sends apiKey as "authorization: Bearer <apiKey>"
// on every request, unary and streaming. [New] installs one; use it directly to authenticate the
// generated switchboardv1connect clients without the rest of this package.
//
// The whitespace around the key is not part of it (a key read from a file with its newline; HTTP
// trims a header value too, and the TS and Python clients send it trimmed). A key with a control
// character inside cannot travel in a header: every call fails at once with CodeUnknown, rather
// than as net/http's refusal, which connect-go reports as CodeUnavailable — a gateway outage the
// retries would wait out.
func AuthInterceptor(apiKey string) connect.Interceptor {
	apiKey = strings.Trim(apiKey, " \t\r\n")
	if strings.ContainsFunc(apiKey, func(r rune) bool { return r != '\t' && (r < 0x20 || r == 0x7f) }) {
		// The message never quotes the key.
		return authInterceptor{err: connect.NewError(connect.CodeUnknown, errors.New("the API key cannot be sent in an HTTP header (it contains a control character)"))}
	}
	return authInterceptor{value: "Bearer " + apiKey}
}

type authInterceptor struct {
	value string
	// Set when the key cannot be sent: every call fails with it.
	err *connect.Error
}

func (a authInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if a.err != nil {
			return nil, a.err
		}
		req.Header().Set("Authorization", a.value)
		return next(ctx, req)
	}
}

func (a authInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		if a.err != nil {
			return &refusedConn{spec: spec, err: a.err, header: make(http.Header)}
		}
		conn := next(ctx, spec)
		conn.RequestHeader().Set("Authorization", a.value)
		return conn
	}
}

func (a authInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// refusedConn is a stream that is never opened (nothing reaches the network): it fails with err.
type refusedConn struct {
	spec   connect.Spec
	err    error
	header http.Header
}

func (c *refusedConn) Spec() connect.Spec           { return c.spec }
func (c *refusedConn) Peer() connect.Peer           { return connect.Peer{} }
func (c *refusedConn) Send(any) error               { return c.err }
func (c *refusedConn) RequestHeader() http.Header   { return c.header }
func (c *refusedConn) CloseRequest() error          { return nil }
func (c *refusedConn) Receive(any) error            { return c.err }
func (c *refusedConn) ResponseHeader() http.Header  { return http.Header{} }
func (c *refusedConn) ResponseTrailer() http.Header { return http.Header{} }
func (c *refusedConn) CloseResponse() error         { return nil }
