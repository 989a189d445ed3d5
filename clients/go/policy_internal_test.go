package switchboard

import (
	"context"
	"errors"
	"testing"
	"time"

	"connectrpc.com/connect"
)

func TestBackoffIsFullJitterUnderACappedExponential(t *testing.T) {
	p := defaultRetryPolicy()
	p.initial, p.max = 100*time.Millisecond, 350*time.Millisecond
	for retry, ceiling := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 350 * time.Millisecond, 10: 350 * time.Millisecond} {
		p.jitter = func() float64 { return 0.999999 }
		if got := p.backoff(retry); got >= ceiling || got < ceiling*99/100 {
			t.Fatalf("retry %d: top of the range %v, want just under %v", retry, got, ceiling)
		}
		p.jitter = func() float64 { return 0 }
		if got := p.backoff(retry); got != 0 {
			t.Fatalf("retry %d: bottom of the range %v, want 0", retry, got)
		}
	}
}

func TestDelayDecision(t *testing.T) {
	p := defaultRetryPolicy()
	p.jitter = func() float64 { return 0.5 }
	unavailable := connect.NewError(connect.CodeUnavailable, errors.New("x"))
	pushback := func(v string) error {
		err := connect.NewError(connect.CodeUnavailable, errors.New("x"))
		err.Meta().Set("Grpc-Retry-Pushback-Ms", v)
		return err
	}
	ctx := context.Background()
	cases := []struct {
		name  string
		retry int
		err   error
		ok    bool
		wait  time.Duration
	}{
		{"unavailable", 1, unavailable, true, 125 * time.Millisecond},
		{"unavailable, retries used up", 3, unavailable, false, 0},
		{"resource exhausted", 1, connect.NewError(connect.CodeResourceExhausted, errors.New("x")), false, 0},
		{"plain error", 1, errors.New("x"), false, 0},
		{"pushback longer than backoff", 1, pushback("900"), true, 900 * time.Millisecond},
		{"negative pushback", 1, pushback("-1"), false, 0},
		{"server delay over the cap", 1, pushback("60000"), false, 0},
	}
	for _, tc := range cases {
		wait, ok := p.delay(ctx, tc.retry, tc.err)
		if ok != tc.ok || wait != tc.wait {
			t.Errorf("%s: delay = %v, %v; want %v, %v", tc.name, wait, ok, tc.wait, tc.ok)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, ok := p.delay(cancelled, 1, unavailable); ok {
		t.Error("retried on a cancelled context")
	}
}
