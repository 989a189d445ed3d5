package switchboard

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/switchboard-ai/switchboard/gen/go/buf/validate"
	switchboardv1 "github.com/switchboard-ai/switchboard/gen/go/switchboard/v1"
)

// Error is how every failed call of a [Client] reports: the Connect code and message, with the
// gateway's typed error details decoded into the fields below (nil when the error carries none).
// It wraps the [*connect.Error], so errors.As(err, &connectErr) and connect.CodeOf(err) keep
// working, as does errors.Is(err, context.DeadlineExceeded) for a deadline the client enforced.
type Error struct {
	err *connect.Error

	// BudgetExceeded names the spend cap that refused the call (ResourceExhausted).
	BudgetExceeded *switchboardv1.BudgetExceeded
	// RateLimitExceeded names the rate limit that refused the call and how long to wait
	// (ResourceExhausted).
	RateLimitExceeded *switchboardv1.RateLimitExceeded
	// GuardrailViolation names the guardrail rule that blocked the request or the answer
	// (PermissionDenied).
	GuardrailViolation *switchboardv1.GuardrailViolation
	// ProviderAttempts lists every provider attempt of a call whose providers failed
	// (Unavailable, DeadlineExceeded, InvalidArgument, Internal).
	ProviderAttempts *switchboardv1.ProviderAttempts
	// CapabilityMissing says what no target of the route could serve (FailedPrecondition).
	CapabilityMissing *switchboardv1.CapabilityMissing
	// Violations lists the request fields that failed validation (InvalidArgument).
	Violations *validate.Violations
	// RetryDelay is how long the server asked the caller to wait before retrying: from a
	// google.rpc.RetryInfo detail, RateLimitExceeded.retry_delay or the gRPC
	// grpc-retry-pushback-ms trailer. Zero when it asked for nothing; negative when it asked the
	// caller not to retry.
	RetryDelay time.Duration
}

// Code is the Connect code.
func (e *Error) Code() connect.Code { return e.err.Code() }

// Message is the server's message, without the code prefix.
func (e *Error) Message() string { return e.err.Message() }

// Meta holds the response headers and trailers that came with the error.
func (e *Error) Meta() http.Header { return e.err.Meta() }

// Error formats the error as connect-go does: "code: message".
func (e *Error) Error() string { return e.err.Error() }

// Unwrap returns the [*connect.Error].
func (e *Error) Unwrap() error { return e.err }

// AsError finds an [*Error] in err's chain, or builds one from a [*connect.Error] (for errors of
// generated clients used without [New]). It reports false for errors that carry no Connect code.
func AsError(err error) (*Error, bool) {
	var sbErr *Error
	if errors.As(err, &sbErr) {
		return sbErr, true
	}
	var connectErr *connect.Error
	if errors.As(err, &connectErr) {
		return newError(connectErr), true
	}
	return nil, false
}

const (
	retryInfoType   = "google.rpc.RetryInfo"
	pushbackHeader  = "Grpc-Retry-Pushback-Ms"
	detailPrefix    = "switchboard.v1."
	validateDetails = "buf.validate.Violations"
)

// newError decodes the details it knows; a detail that does not decode is left out, never fatal
// (the raw details stay available through Unwrap).
func newError(connectErr *connect.Error) *Error {
	e := &Error{err: connectErr}
	for _, detail := range connectErr.Details() {
		switch detail.Type() {
		case detailPrefix + "BudgetExceeded":
			decodeDetail(detail, &e.BudgetExceeded)
		case detailPrefix + "RateLimitExceeded":
			decodeDetail(detail, &e.RateLimitExceeded)
		case detailPrefix + "GuardrailViolation":
			decodeDetail(detail, &e.GuardrailViolation)
		case detailPrefix + "ProviderAttempts":
			decodeDetail(detail, &e.ProviderAttempts)
		case detailPrefix + "CapabilityMissing":
			decodeDetail(detail, &e.CapabilityMissing)
		case validateDetails:
			decodeDetail(detail, &e.Violations)
		case retryInfoType:
			if d, ok := decodeRetryInfo(detail.Bytes()); ok {
				e.RetryDelay = d
			}
		}
	}
	if e.RetryDelay == 0 && e.RateLimitExceeded.GetRetryDelay() != nil {
		e.RetryDelay = e.RateLimitExceeded.GetRetryDelay().AsDuration()
	}
	if e.RetryDelay == 0 {
		if v := connectErr.Meta().Get(pushbackHeader); v != "" {
			if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
				e.RetryDelay = time.Duration(ms) * time.Millisecond
				if ms < 0 {
					e.RetryDelay = -1
				}
			}
		}
	}
	return e
}

// decodeDetail sets *field to the detail decoded, or leaves it as it is when the bytes do not
// decode. Details are decoded without the global registry, so a program that links another copy
// of these messages still decodes them.
func decodeDetail[M any, P interface {
	*M
	proto.Message
}](detail *connect.ErrorDetail, field *P) {
	msg := P(new(M))
	if proto.Unmarshal(detail.Bytes(), msg) == nil {
		*field = msg
	}
}

// decodeRetryInfo reads google.rpc.RetryInfo (field 1: google.protobuf.Duration retry_delay)
// without depending on the googleapis module for one message.
func decodeRetryInfo(b []byte) (time.Duration, bool) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, false
		}
		b = b[n:]
		if num == 1 && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return 0, false
			}
			var d durationpb.Duration
			if proto.Unmarshal(v, &d) != nil {
				return 0, false
			}
			return d.AsDuration(), true
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return 0, false
		}
		b = b[n:]
	}
	return 0, false
}

// wrapError turns an RPC failure into an [*Error]; io.EOF (a stream's normal end), nil and
// errors without a Connect code pass through unchanged.
func wrapError(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return err
	}
	var sbErr *Error
	if errors.As(err, &sbErr) {
		return err
	}
	var connectErr *connect.Error
	if errors.As(err, &connectErr) {
		return newError(connectErr)
	}
	return err
}

// errorInterceptor is the outermost interceptor: whatever fails leaves as an [*Error].
type errorInterceptor struct{}

func (errorInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		res, err := next(ctx, req)
		if err != nil {
			return nil, wrapError(err)
		}
		return res, nil
	}
}

func (errorInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		return errorConn{next(ctx, spec)}
	}
}

func (errorInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

type errorConn struct{ connect.StreamingClientConn }

func (c errorConn) Send(msg any) error    { return wrapError(c.StreamingClientConn.Send(msg)) }
func (c errorConn) Receive(msg any) error { return wrapError(c.StreamingClientConn.Receive(msg)) }
func (c errorConn) CloseRequest() error   { return wrapError(c.StreamingClientConn.CloseRequest()) }
func (c errorConn) CloseResponse() error  { return wrapError(c.StreamingClientConn.CloseResponse()) }
