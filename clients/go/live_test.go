package switchboard_test

// Tests against a running gateway: SWITCHBOARD_URL (its base URL) and SWITCHBOARD_KEY (a key with
// every scope, such as the bootstrap admin key). scripts/test-clients.sh runs them; without
// SWITCHBOARD_URL they skip, and with it but without a key they fail.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/structpb"

	switchboard "github.com/switchboard-ai/switchboard/clients/go"
	switchboardv1 "github.com/switchboard-ai/switchboard/gen/go/switchboard/v1"
)

var protocols = []switchboard.Protocol{switchboard.ProtocolConnect, switchboard.ProtocolGRPC}

func liveClient(t *testing.T, opts ...switchboard.Option) *switchboard.Client {
	t.Helper()
	url := strings.TrimRight(os.Getenv("SWITCHBOARD_URL"), "/")
	if url == "" {
		t.Fatal("SWITCHBOARD_URL is not set: run these tests through scripts/test-clients.sh (npm test), which starts a gateway")
	}
	key := os.Getenv("SWITCHBOARD_KEY")
	if key == "" {
		t.Fatal("SWITCHBOARD_URL is set but SWITCHBOARD_KEY is not: set it to an admin key of that gateway")
	}
	return switchboard.New(url, key, append([]switchboard.Option{switchboard.WithTimeout(30 * time.Second)}, opts...)...)
}

func userMessage(text string) *switchboardv1.Message {
	return &switchboardv1.Message{
		Role:    switchboardv1.Role_ROLE_USER,
		Content: []*switchboardv1.ContentPart{{Part: &switchboardv1.ContentPart_Text{Text: text}}},
	}
}

func TestSummarize(t *testing.T) {
	for _, protocol := range protocols {
		t.Run(protocol.String(), func(t *testing.T) {
			client := liveClient(t, switchboard.WithProtocol(protocol))
			res, err := client.Summarize(t.Context(), connect.NewRequest(&switchboardv1.SummarizeRequest{
				Text:        "Switchboard routes model calls, enforces budgets, caches answers and retries failed providers.",
				Style:       switchboardv1.SummaryStyle_SUMMARY_STYLE_BULLETS,
				BulletCount: 2,
			}))
			if err != nil {
				t.Fatalf("Summarize: %v", err)
			}
			if res.Msg.GetSummary() == "" || len(res.Msg.GetBullets()) == 0 {
				t.Fatalf("empty summary: %v", res.Msg)
			}
			usage := res.Msg.GetUsage()
			if usage.GetRequestId() == "" || usage.GetProvider() == "" || usage.GetOutputTokens() <= 0 {
				t.Fatalf("usage not reported: %v", usage)
			}
		})
	}
}

func TestExtract(t *testing.T) {
	client := liveClient(t)
	schema, err := structpb.NewStruct(map[string]any{
		"type": "object",
		"properties": map[string]any{
			"invoice": map[string]any{"type": "integer"},
			"total":   map[string]any{"type": "number"},
		},
		"required": []any{"invoice", "total"},
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Extract(t.Context(), connect.NewRequest(&switchboardv1.ExtractRequest{
		Text:       "Invoice 42, total 99.50",
		JsonSchema: schema,
	}))
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	fields := res.Msg.GetData().GetFields()
	if _, ok := fields["invoice"].GetKind().(*structpb.Value_NumberValue); !ok {
		t.Fatalf("data.invoice is not a number: %v", res.Msg.GetData())
	}
	if _, ok := fields["total"].GetKind().(*structpb.Value_NumberValue); !ok {
		t.Fatalf("data.total is not a number: %v", res.Msg.GetData())
	}
	if !strings.Contains(res.Msg.GetJson(), "invoice") {
		t.Fatalf("json = %q", res.Msg.GetJson())
	}
}

func TestChatStream(t *testing.T) {
	for _, protocol := range protocols {
		t.Run(protocol.String(), func(t *testing.T) {
			client := liveClient(t, switchboard.WithProtocol(protocol))
			stream, err := client.ChatStream(t.Context(), connect.NewRequest(&switchboardv1.ChatStreamRequest{
				Messages: []*switchboardv1.Message{userMessage("Say hello in a few words.")},
			}))
			if err != nil {
				t.Fatalf("ChatStream: %v", err)
			}
			defer stream.Close()
			var text strings.Builder
			var started, terminals int
			var completed *switchboardv1.StreamCompleted
			for stream.Receive() {
				if terminals > 0 {
					t.Fatalf("event after the terminal event: %v", stream.Msg())
				}
				switch event := stream.Msg().GetEvent().(type) {
				case *switchboardv1.ChatStreamResponse_Started:
					started++
				case *switchboardv1.ChatStreamResponse_Delta:
					text.WriteString(event.Delta.GetText())
				case *switchboardv1.ChatStreamResponse_Completed:
					terminals++
					completed = event.Completed
				case *switchboardv1.ChatStreamResponse_Truncated, *switchboardv1.ChatStreamResponse_UpstreamError,
					*switchboardv1.ChatStreamResponse_BudgetExhausted:
					terminals++
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if started != 1 || terminals != 1 || completed == nil {
				t.Fatalf("started=%d terminal events=%d completed=%v, want one started and one completed", started, terminals, completed)
			}
			if text.Len() == 0 {
				t.Fatal("no text deltas")
			}
			if completed.GetUsage().GetOutputTokens() <= 0 {
				t.Fatalf("completed without usage: %v", completed)
			}
		})
	}
}

func TestListKeys(t *testing.T) {
	client := liveClient(t)
	res, err := client.Keys.ListKeys(t.Context(), connect.NewRequest(&switchboardv1.ListKeysRequest{Parent: "orgs/system/teams/-"}))
	if err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	for _, key := range res.Msg.GetKeys() {
		if key.GetName() == "orgs/system/teams/admins/keys/bootstrap" {
			if key.GetState() != switchboardv1.KeyState_KEY_STATE_ACTIVE {
				t.Fatalf("bootstrap key state = %v", key.GetState())
			}
			return
		}
	}
	t.Fatalf("the bootstrap key is not listed: %v", res.Msg.GetKeys())
}

// A route whose only target always fails: Chat ends Unavailable, with every provider attempt in a
// decoded ProviderAttempts detail. The target is sandbox-smart so that the circuit breaker of the
// sandbox-fast target, which the seeded routes share, never sees these failures.
func TestChatUnavailableCarriesProviderAttempts(t *testing.T) {
	client := liveClient(t, switchboard.WithRetries(1), switchboard.WithRetryBackoff(10*time.Millisecond, 50*time.Millisecond))
	routeID := "go-failing-" + randomSuffix(t)
	_, err := client.Routes.CreateRoute(t.Context(), connect.NewRequest(&switchboardv1.CreateRouteRequest{
		RouteId: routeID,
		Route: &switchboardv1.Route{
			Description: "Go client test: a sandbox target told to fail",
			Targets:     []*switchboardv1.RouteTarget{{Provider: "sandbox", Model: "sandbox-smart"}},
		},
	}))
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = client.Routes.DeleteRoute(ctx, connect.NewRequest(&switchboardv1.DeleteRouteRequest{Name: "routes/" + routeID}))
	})

	req := &switchboardv1.ChatRequest{
		Options:  &switchboardv1.RequestOptions{Route: routeID},
		Messages: []*switchboardv1.Message{userMessage("hello [[sandbox:500]]")},
	}
	// A new route reaches the gateway's resolver within its poll interval (1 s).
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err = client.Chat(t.Context(), connect.NewRequest(req))
		if connect.CodeOf(err) != connect.CodeNotFound || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var sbErr *switchboard.Error
	if !errors.As(err, &sbErr) {
		t.Fatalf("Chat error %T %v is not a *switchboard.Error", err, err)
	}
	if sbErr.Code() != connect.CodeUnavailable {
		t.Fatalf("code = %v (%v), want unavailable", sbErr.Code(), err)
	}
	var connectErr *connect.Error
	if !errors.As(err, &connectErr) || connectErr.Code() != connect.CodeUnavailable {
		t.Fatalf("the *connect.Error is not reachable with errors.As: %v", err)
	}
	attempts := sbErr.ProviderAttempts
	if attempts == nil || len(attempts.GetAttempts()) == 0 {
		t.Fatalf("no ProviderAttempts detail: %v", err)
	}
	if attempts.GetRoute() != routeID {
		t.Fatalf("ProviderAttempts.route = %q, want %q", attempts.GetRoute(), routeID)
	}
	for _, attempt := range attempts.GetAttempts() {
		if attempt.GetProvider() != "sandbox" || attempt.GetOutcome() == switchboardv1.AttemptOutcome_ATTEMPT_OUTCOME_SUCCESS {
			t.Fatalf("unexpected attempt %v", attempt)
		}
	}
}

func TestUnknownRouteIsNotFound(t *testing.T) {
	client := liveClient(t)
	_, err := client.Chat(t.Context(), connect.NewRequest(&switchboardv1.ChatRequest{
		Options:  &switchboardv1.RequestOptions{Route: "no-such-route-" + randomSuffix(t)},
		Messages: []*switchboardv1.Message{userMessage("hello")},
	}))
	sbErr, ok := switchboard.AsError(err)
	if !ok || sbErr.Code() != connect.CodeNotFound {
		t.Fatalf("err = %v, want not_found", err)
	}
}

func TestInvalidRequestCarriesViolations(t *testing.T) {
	client := liveClient(t)
	_, err := client.Summarize(t.Context(), connect.NewRequest(&switchboardv1.SummarizeRequest{}))
	sbErr, ok := switchboard.AsError(err)
	if !ok || sbErr.Code() != connect.CodeInvalidArgument {
		t.Fatalf("err = %v, want invalid_argument", err)
	}
	if v := sbErr.Violations.GetViolations(); len(v) == 0 || v[0].GetRuleId() != "string.min_bytes" {
		t.Fatalf("violations = %v", sbErr.Violations)
	}
}

func TestWrongKeyIsUnauthenticated(t *testing.T) {
	liveClient(t) // skips or fails as the others do
	client := switchboard.New(os.Getenv("SWITCHBOARD_URL"), "sb_live_not-a-key")
	_, err := client.Keys.ListKeys(t.Context(), connect.NewRequest(&switchboardv1.ListKeysRequest{Parent: "orgs/system/teams/-"}))
	if connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("err = %v, want unauthenticated", err)
	}
}

func TestExampleSummarize(t *testing.T) {
	liveClient(t)
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go is not on PATH: %v", err)
	}
	cmd := exec.CommandContext(t.Context(), goBin, "run", "./examples/summarize")
	cmd.Stdin = strings.NewReader("Switchboard routes model calls, enforces budgets and caches answers.")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("examples/summarize: %v\n%s", err, stderr.String())
	}
	if strings.TrimSpace(string(out)) == "" || !strings.Contains(stderr.String(), "micro-USD") {
		t.Fatalf("stdout %q, stderr %q", out, stderr.String())
	}
}

func randomSuffix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
