package switchboard

import (
	"time"

	"connectrpc.com/connect"
)

// Protocol is the wire protocol a [Client] speaks. The gateway serves all three on one port.
type Protocol int

const (
	// ProtocolConnect is the Connect protocol (the default): plain HTTP, HTTP/1.1 or HTTP/2,
	// readable with curl.
	ProtocolConnect Protocol = iota
	// ProtocolGRPC is gRPC. It needs HTTP/2: over TLS (https) it is negotiated; over cleartext
	// (http) the default HTTP client speaks HTTP/2 with prior knowledge (h2c).
	ProtocolGRPC
	// ProtocolGRPCWeb is gRPC-Web, over HTTP/1.1 or HTTP/2.
	ProtocolGRPCWeb
)

// String names the protocol as the Connect documentation does.
func (p Protocol) String() string {
	switch p {
	case ProtocolConnect:
		return "connect"
	case ProtocolGRPC:
		return "grpc"
	case ProtocolGRPCWeb:
		return "grpcweb"
	default:
		return "unknown"
	}
}

// Option configures a [Client] built by [New].
type Option func(*config)

type config struct {
	protocol       Protocol
	timeout        time.Duration
	retry          retryPolicy
	httpClient     connect.HTTPClient
	connectOptions []connect.ClientOption
}

func defaultConfig() config {
	return config{protocol: ProtocolConnect, retry: defaultRetryPolicy()}
}

// WithProtocol selects the wire protocol (default [ProtocolConnect]).
func WithProtocol(p Protocol) Option {
	return func(c *config) { c.protocol = p }
}

// WithTimeout bounds every call whose context has no deadline: the whole call, retries and
// backoff included, and for a stream until it ends. A deadline already on the context wins.
// Zero (the default) leaves calls without a deadline unbounded on the client side; the gateway
// then applies its own default (120 s for a unary call).
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// WithRetries sets how many times a call that failed with Unavailable is retried (default 2, so
// at most 3 attempts). Zero disables retries. A stream is retried only while it has not yet
// delivered a message.
func WithRetries(n int) Option {
	return func(c *config) {
		if n < 0 {
			n = 0
		}
		c.retry.maxRetries = n
	}
}

// WithRetryBackoff sets the backoff between retries (defaults 250 ms and 5 s): retry n waits a
// random duration in [0, min(initial·2^(n-1), max)) ("full jitter"), or longer when the server
// asked for a longer delay.
func WithRetryBackoff(initial, max time.Duration) Option {
	return func(c *config) {
		if initial > 0 {
			c.retry.initial = initial
		}
		if max > 0 {
			c.retry.max = max
		}
	}
}

// WithHTTPClient sets the HTTP client (default: one built for the protocol; gRPC over http://
// gets an HTTP/2 prior-knowledge transport). Use it for TLS settings, proxies or tracing. With
// [ProtocolGRPC] over cleartext it must speak h2c.
func WithHTTPClient(client connect.HTTPClient) Option {
	return func(c *config) { c.httpClient = client }
}

// WithConnectOptions passes extra connect-go client options to every generated client, for
// example connect.WithProtoJSON() or more interceptors (which run inside the client's own).
func WithConnectOptions(opts ...connect.ClientOption) Option {
	return func(c *config) { c.connectOptions = append(c.connectOptions, opts...) }
}
