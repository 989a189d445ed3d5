package switchboard_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	healthv1 "github.com/switchboard-ai/switchboard/gen/go/grpc/health/v1"
	"github.com/switchboard-ai/switchboard/gen/go/grpc/health/v1/healthv1connect"
)

func baseURL(t *testing.T) string {
	t.Helper()
	u := strings.TrimRight(os.Getenv("SWITCHBOARD_URL"), "/")
	if u == "" {
		t.Fatal("SWITCHBOARD_URL is not set: run these tests through scripts/test-clients.sh (npm test), which starts a gateway")
	}
	return u
}

// protoRecorder remembers the HTTP version of the responses it carried, so each case can prove
// which transport it really used.
type protoRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []string
}

func (r *protoRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := r.next.RoundTrip(req)
	if err == nil {
		r.mu.Lock()
		r.seen = append(r.seen, res.Proto)
		r.mu.Unlock()
	}
	return res, err
}

// transport returns an http.Transport speaking only HTTP/1.1, or only HTTP/2 with prior
// knowledge over cleartext (h2c, what gRPC needs without TLS; net/http does this since Go 1.24).
func transport(h2c bool) *http.Transport {
	var p http.Protocols
	if h2c {
		p.SetUnencryptedHTTP2(true)
	} else {
		p.SetHTTP1(true)
	}
	return &http.Transport{Protocols: &p}
}

func TestHealthCheck(t *testing.T) {
	url := baseURL(t)
	cases := []struct {
		name      string
		h2c       bool
		option    connect.ClientOption
		wantProto string
	}{
		{"connect-json_over_http1.1", false, connect.WithProtoJSON(), "HTTP/1.1"},
		{"connect-proto_over_http1.1", false, nil, "HTTP/1.1"},
		{"grpc_over_h2c", true, connect.WithGRPC(), "HTTP/2.0"},
		{"grpc-web_over_http1.1", false, connect.WithGRPCWeb(), "HTTP/1.1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := transport(tc.h2c)
			defer tr.CloseIdleConnections()
			rec := &protoRecorder{next: tr}
			var opts []connect.ClientOption
			if tc.option != nil {
				opts = append(opts, tc.option)
			}
			client := healthv1connect.NewHealthClient(&http.Client{Transport: rec}, url, opts...)

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, err := client.Check(ctx, connect.NewRequest(&healthv1.HealthCheckRequest{}))
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if got := res.Msg.GetStatus(); got != healthv1.HealthCheckResponse_SERVING {
				t.Fatalf("status = %v, want SERVING", got)
			}
			if len(rec.seen) != 1 || rec.seen[0] != tc.wantProto {
				t.Fatalf("responses came over %v, want one over %s", rec.seen, tc.wantProto)
			}
		})
	}
}
