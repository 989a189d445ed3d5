package switchboard_test

// The retry policy, error decoding, key and deadline propagation against an in-process
// connect-go handler (no gateway needed).

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	switchboard "github.com/switchboard-ai/switchboard/clients/go"
	switchboardv1 "github.com/switchboard-ai/switchboard/gen/go/switchboard/v1"
	"github.com/switchboard-ai/switchboard/gen/go/switchboard/v1/switchboardv1connect"
)

// scripted answers Chat and ChatStream call by call: script(n) for the n-th call (1-based).
type scripted struct {
	switchboardv1connect.UnimplementedCapabilityServiceHandler
	calls    atomic.Int32
	chat     func(n int, ctx context.Context, req *connect.Request[switchboardv1.ChatRequest]) error
	stream   func(n int, send func(*switchboardv1.ChatStreamResponse) error) error
	lastAuth atomic.Value
}

func (s *scripted) Chat(ctx context.Context, req *connect.Request[switchboardv1.ChatRequest]) (*connect.Response[switchboardv1.ChatResponse], error) {
	n := int(s.calls.Add(1))
	s.lastAuth.Store(req.Header().Get("Authorization"))
	if err := s.chat(n, ctx, req); err != nil {
		return nil, err
	}
	return connect.NewResponse(&switchboardv1.ChatResponse{FinishReason: switchboardv1.FinishReason_FINISH_REASON_STOP}), nil
}

func (s *scripted) ChatStream(_ context.Context, req *connect.Request[switchboardv1.ChatStreamRequest], out *connect.ServerStream[switchboardv1.ChatStreamResponse]) error {
	n := int(s.calls.Add(1))
	s.lastAuth.Store(req.Header().Get("Authorization"))
	return s.stream(n, out.Send)
}

// serve starts the handler on HTTP/1.1 and h2c and returns its URL.
func serve(t *testing.T, svc switchboardv1connect.CapabilityServiceHandler) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(switchboardv1connect.NewCapabilityServiceHandler(svc))
	server := httptest.NewUnstartedServer(mux)
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	server.Config.Protocols = &protocols
	server.Start()
	t.Cleanup(server.Close)
	return server.URL
}

func fastRetries(n int) []switchboard.Option {
	return []switchboard.Option{
		switchboard.WithRetries(n),
		switchboard.WithRetryBackoff(time.Millisecond, 2*time.Millisecond),
	}
}

func chatRequest() *connect.Request[switchboardv1.ChatRequest] {
	return connect.NewRequest(&switchboardv1.ChatRequest{})
}

func withDetail(t *testing.T, err *connect.Error, msg proto.Message) *connect.Error {
	t.Helper()
	detail, derr := connect.NewErrorDetail(msg)
	if derr != nil {
		t.Fatal(derr)
	}
	err.AddDetail(detail)
	return err
}

// retryInfo is a google.rpc.RetryInfo detail, built by hand (field 1: retry_delay).
func retryInfo(t *testing.T, d time.Duration) *anypb.Any {
	t.Helper()
	delay, err := proto.Marshal(durationpb.New(d))
	if err != nil {
		t.Fatal(err)
	}
	value := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), delay)
	return &anypb.Any{TypeUrl: "type.googleapis.com/google.rpc.RetryInfo", Value: value}
}

func providerAttempts() *switchboardv1.ProviderAttempts {
	return &switchboardv1.ProviderAttempts{
		Route:    "fast",
		Attempts: []*switchboardv1.Attempt{{Index: 1, Provider: "sandbox", Outcome: switchboardv1.AttemptOutcome_ATTEMPT_OUTCOME_UNAVAILABLE}},
	}
}

func TestRetriesUnavailableUntilSuccess(t *testing.T) {
	for _, protocol := range []switchboard.Protocol{switchboard.ProtocolConnect, switchboard.ProtocolGRPC, switchboard.ProtocolGRPCWeb} {
		t.Run(protocol.String(), func(t *testing.T) {
			svc := &scripted{chat: func(n int, _ context.Context, _ *connect.Request[switchboardv1.ChatRequest]) error {
				if n < 3 {
					return connect.NewError(connect.CodeUnavailable, errors.New("provider down"))
				}
				return nil
			}}
			client := switchboard.New(serve(t, svc), "sb_test_key", append(fastRetries(2), switchboard.WithProtocol(protocol))...)
			if _, err := client.Chat(t.Context(), chatRequest()); err != nil {
				t.Fatalf("Chat: %v", err)
			}
			if got := svc.calls.Load(); got != 3 {
				t.Fatalf("calls = %d, want 3", got)
			}
			if got := svc.lastAuth.Load(); got != "Bearer sb_test_key" {
				t.Fatalf("authorization = %q", got)
			}
		})
	}
}

func TestGivesUpAfterRetriesWithDecodedError(t *testing.T) {
	svc := &scripted{chat: func(int, context.Context, *connect.Request[switchboardv1.ChatRequest]) error {
		return withDetail(t, connect.NewError(connect.CodeUnavailable, errors.New("no target answered")), providerAttempts())
	}}
	client := switchboard.New(serve(t, svc), "k", fastRetries(2)...)
	_, err := client.Chat(t.Context(), chatRequest())
	if got := svc.calls.Load(); got != 3 {
		t.Fatalf("calls = %d, want 3 (1 + 2 retries)", got)
	}
	var sbErr *switchboard.Error
	if !errors.As(err, &sbErr) || sbErr.Code() != connect.CodeUnavailable {
		t.Fatalf("err = %T %v", err, err)
	}
	if sbErr.Message() != "no target answered" || sbErr.ProviderAttempts.GetRoute() != "fast" || len(sbErr.ProviderAttempts.GetAttempts()) != 1 {
		t.Fatalf("decoded %q %v", sbErr.Message(), sbErr.ProviderAttempts)
	}
}

func TestNeverRetriesResourceExhausted(t *testing.T) {
	budget := &switchboardv1.BudgetExceeded{Level: switchboardv1.BudgetLevel_BUDGET_LEVEL_KEY, Budget: "orgs/a/budgets/b", LimitMicrosUsd: 1_000_000}
	rate := &switchboardv1.RateLimitExceeded{Dimension: switchboardv1.RateLimitDimension_RATE_LIMIT_DIMENSION_REQUESTS, RetryDelay: durationpb.New(time.Millisecond)}
	svc := &scripted{chat: func(int, context.Context, *connect.Request[switchboardv1.ChatRequest]) error {
		err := connect.NewError(connect.CodeResourceExhausted, errors.New("budget exceeded"))
		return withDetail(t, withDetail(t, err, budget), rate)
	}}
	client := switchboard.New(serve(t, svc), "k", fastRetries(3)...)
	_, err := client.Chat(t.Context(), chatRequest())
	if got := svc.calls.Load(); got != 1 {
		t.Fatalf("calls = %d, want 1: ResourceExhausted must not be retried", got)
	}
	sbErr, ok := switchboard.AsError(err)
	if !ok || sbErr.Code() != connect.CodeResourceExhausted {
		t.Fatalf("err = %v", err)
	}
	if !proto.Equal(sbErr.BudgetExceeded, budget) || !proto.Equal(sbErr.RateLimitExceeded, rate) || sbErr.RetryDelay != time.Millisecond {
		t.Fatalf("details: %v %v %v", sbErr.BudgetExceeded, sbErr.RateLimitExceeded, sbErr.RetryDelay)
	}
}

func TestOtherCodesAreNotRetried(t *testing.T) {
	for _, code := range []connect.Code{connect.CodeInvalidArgument, connect.CodeDeadlineExceeded, connect.CodeInternal, connect.CodePermissionDenied, connect.CodeNotFound} {
		t.Run(code.String(), func(t *testing.T) {
			svc := &scripted{chat: func(int, context.Context, *connect.Request[switchboardv1.ChatRequest]) error {
				return withDetail(t, connect.NewError(code, errors.New("no")), &switchboardv1.GuardrailViolation{Rule: "r1"})
			}}
			client := switchboard.New(serve(t, svc), "k", fastRetries(3)...)
			_, err := client.Chat(t.Context(), chatRequest())
			sbErr, _ := switchboard.AsError(err)
			if svc.calls.Load() != 1 || sbErr == nil || sbErr.Code() != code || sbErr.GuardrailViolation.GetRule() != "r1" {
				t.Fatalf("calls=%d err=%v", svc.calls.Load(), err)
			}
		})
	}
}

func TestHonoursServerRetryDelay(t *testing.T) {
	const delay = 300 * time.Millisecond
	svc := &scripted{chat: func(n int, _ context.Context, _ *connect.Request[switchboardv1.ChatRequest]) error {
		if n == 1 {
			return withDetail(t, connect.NewError(connect.CodeUnavailable, errors.New("busy")), retryInfo(t, delay))
		}
		return nil
	}}
	client := switchboard.New(serve(t, svc), "k", fastRetries(1)...)
	start := time.Now()
	if _, err := client.Chat(t.Context(), chatRequest()); err != nil {
		t.Fatalf("Chat: %v", err)
	}
	if elapsed := time.Since(start); elapsed < delay {
		t.Fatalf("retried after %v, before the server's %v", elapsed, delay)
	}
}

func TestDoesNotWaitPastTheDeadline(t *testing.T) {
	svc := &scripted{chat: func(int, context.Context, *connect.Request[switchboardv1.ChatRequest]) error {
		return withDetail(t, connect.NewError(connect.CodeUnavailable, errors.New("busy")), retryInfo(t, 5*time.Second))
	}}
	client := switchboard.New(serve(t, svc), "k", fastRetries(3)...)
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	start := time.Now()
	_, err := client.Chat(ctx, chatRequest())
	if connect.CodeOf(err) != connect.CodeUnavailable || svc.calls.Load() != 1 || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("err=%v calls=%d after %v: a wait past the deadline must not start", err, svc.calls.Load(), time.Since(start))
	}
}

func TestDeadlineReachesTheServer(t *testing.T) {
	var remaining atomic.Int64
	svc := &scripted{chat: func(_ int, ctx context.Context, _ *connect.Request[switchboardv1.ChatRequest]) error {
		if deadline, ok := ctx.Deadline(); ok {
			remaining.Store(int64(time.Until(deadline)))
		}
		<-ctx.Done()
		return connect.NewError(connect.CodeDeadlineExceeded, ctx.Err())
	}}
	client := switchboard.New(serve(t, svc), "k", switchboard.WithTimeout(200*time.Millisecond))
	_, err := client.Chat(t.Context(), chatRequest())
	if connect.CodeOf(err) != connect.CodeDeadlineExceeded {
		t.Fatalf("err = %v, want deadline_exceeded", err)
	}
	if got := time.Duration(remaining.Load()); got <= 0 || got > 200*time.Millisecond {
		t.Fatalf("server saw %v left, want a deadline within the client's 200ms", got)
	}
	if _, ok := switchboard.AsError(err); !ok {
		t.Fatalf("err %T is not a *switchboard.Error", err)
	}
}

func TestStreamRetriedOnlyBeforeItsFirstMessage(t *testing.T) {
	delta := func(text string) *switchboardv1.ChatStreamResponse {
		return &switchboardv1.ChatStreamResponse{Event: &switchboardv1.ChatStreamResponse_Delta{Delta: &switchboardv1.TextDelta{Text: text}}}
	}
	completed := &switchboardv1.ChatStreamResponse{Event: &switchboardv1.ChatStreamResponse_Completed{Completed: &switchboardv1.StreamCompleted{}}}
	for _, protocol := range []switchboard.Protocol{switchboard.ProtocolConnect, switchboard.ProtocolGRPC} {
		t.Run("before/"+protocol.String(), func(t *testing.T) {
			svc := &scripted{stream: func(n int, send func(*switchboardv1.ChatStreamResponse) error) error {
				if n == 1 {
					return connect.NewError(connect.CodeUnavailable, errors.New("no target answered"))
				}
				_ = send(delta("hi"))
				return send(completed)
			}}
			client := switchboard.New(serve(t, svc), "k", append(fastRetries(2), switchboard.WithProtocol(protocol))...)
			stream, err := client.ChatStream(t.Context(), connect.NewRequest(&switchboardv1.ChatStreamRequest{}))
			if err != nil {
				t.Fatal(err)
			}
			defer stream.Close()
			var events int
			for stream.Receive() {
				events++
			}
			if err := stream.Err(); err != nil || events != 2 || svc.calls.Load() != 2 {
				t.Fatalf("err=%v events=%d calls=%d", err, events, svc.calls.Load())
			}
			if got := svc.lastAuth.Load(); got != "Bearer k" {
				t.Fatalf("retried stream sent authorization %q", got)
			}
		})
		t.Run("after/"+protocol.String(), func(t *testing.T) {
			svc := &scripted{stream: func(_ int, send func(*switchboardv1.ChatStreamResponse) error) error {
				_ = send(delta("half"))
				return withDetail(t, connect.NewError(connect.CodeUnavailable, errors.New("cut")), providerAttempts())
			}}
			client := switchboard.New(serve(t, svc), "k", append(fastRetries(2), switchboard.WithProtocol(protocol))...)
			stream, err := client.ChatStream(t.Context(), connect.NewRequest(&switchboardv1.ChatStreamRequest{}))
			if err != nil {
				t.Fatal(err)
			}
			defer stream.Close()
			var events int
			for stream.Receive() {
				events++
			}
			var sbErr *switchboard.Error
			if !errors.As(stream.Err(), &sbErr) || sbErr.Code() != connect.CodeUnavailable || sbErr.ProviderAttempts == nil {
				t.Fatalf("stream.Err() = %T %v", stream.Err(), stream.Err())
			}
			if events != 1 || svc.calls.Load() != 1 {
				t.Fatalf("events=%d calls=%d: a stream that delivered a message must not be retried", events, svc.calls.Load())
			}
		})
	}
}

func TestRetriesCanBeDisabled(t *testing.T) {
	svc := &scripted{chat: func(int, context.Context, *connect.Request[switchboardv1.ChatRequest]) error {
		return connect.NewError(connect.CodeUnavailable, errors.New("down"))
	}}
	client := switchboard.New(serve(t, svc), "k", switchboard.WithRetries(0))
	if _, err := client.Chat(t.Context(), chatRequest()); connect.CodeOf(err) != connect.CodeUnavailable || svc.calls.Load() != 1 {
		t.Fatalf("err=%v calls=%d", err, svc.calls.Load())
	}
}

func TestKeyReadWithItsNewlineIsSentWithoutIt(t *testing.T) {
	svc := &scripted{chat: func(int, context.Context, *connect.Request[switchboardv1.ChatRequest]) error { return nil }}
	client := switchboard.New(serve(t, svc), "sb_test_key\n", fastRetries(2)...)
	if _, err := client.Chat(t.Context(), chatRequest()); err != nil {
		t.Fatalf("Chat: %v", err)
	}
	if got := svc.lastAuth.Load(); got != "Bearer sb_test_key" {
		t.Fatalf("authorization = %q", got)
	}
}

func TestKeyWithAControlCharacterFailsAtOnceWithoutQuotingIt(t *testing.T) {
	svc := &scripted{chat: func(int, context.Context, *connect.Request[switchboardv1.ChatRequest]) error { return nil }}
	client := switchboard.New(serve(t, svc), "sb_test\x01secret", fastRetries(2)...)
	_, err := client.Chat(t.Context(), chatRequest())
	if err == nil {
		t.Fatal("Chat succeeded")
	}
	if code := connect.CodeOf(err); code == connect.CodeUnavailable {
		t.Fatalf("code = %v (%v), want a failure that is not retried as a gateway outage", code, err)
	}
	if got := svc.calls.Load(); got != 0 {
		t.Fatalf("calls = %d, want 0", got)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("error quotes the key: %v", err)
	}
	stream, err := client.ChatStream(t.Context(), connect.NewRequest(&switchboardv1.ChatStreamRequest{}))
	if err == nil {
		err = stream.Err()
	}
	if code := connect.CodeOf(err); err == nil || code == connect.CodeUnavailable {
		t.Fatalf("stream: %v, want a failure that is not retried as a gateway outage", err)
	}
	if got := svc.calls.Load(); got != 0 {
		t.Fatalf("calls = %d, want 0", got)
	}
}
