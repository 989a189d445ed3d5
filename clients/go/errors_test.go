package switchboard_test

// Error details the client cannot decode, against an in-process connect-go handler.

import (
	"context"
	"errors"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/anypb"

	switchboard "github.com/switchboard-ai/switchboard/clients/go"
	switchboardv1 "github.com/switchboard-ai/switchboard/gen/go/switchboard/v1"
)

// A detail that does not decode is left out (nil), as the TypeScript and Python clients do: a
// caller that tests `sbErr.BudgetExceeded != nil` ("the budget is spent") must not be told so by
// bytes that are not a BudgetExceeded. The details that do decode are still there.
func TestUndecodableDetailIsLeftOut(t *testing.T) {
	for _, typeName := range []string{"BudgetExceeded", "RateLimitExceeded", "GuardrailViolation", "CapabilityMissing"} {
		t.Run(typeName, func(t *testing.T) {
			garbage := &anypb.Any{TypeUrl: "type.googleapis.com/switchboard.v1." + typeName, Value: []byte{0x0a, 0xff, 0x01}}
			svc := &scripted{chat: func(int, context.Context, *connect.Request[switchboardv1.ChatRequest]) error {
				err := withDetail(t, connect.NewError(connect.CodeUnavailable, errors.New("no target answered")), garbage)
				return withDetail(t, err, providerAttempts())
			}}
			client := switchboard.New(serve(t, svc), "k", switchboard.WithRetries(0))
			_, err := client.Chat(t.Context(), chatRequest())
			sbErr, ok := switchboard.AsError(err)
			if !ok || sbErr.Code() != connect.CodeUnavailable || sbErr.ProviderAttempts.GetRoute() != "fast" {
				t.Fatalf("err = %v", err)
			}
			if sbErr.BudgetExceeded != nil || sbErr.RateLimitExceeded != nil || sbErr.GuardrailViolation != nil || sbErr.CapabilityMissing != nil {
				t.Fatalf("an undecodable %s detail was reported as decoded: budget=%v rate=%v guardrail=%v capability=%v",
					typeName, sbErr.BudgetExceeded, sbErr.RateLimitExceeded, sbErr.GuardrailViolation, sbErr.CapabilityMissing)
			}
		})
	}
}
