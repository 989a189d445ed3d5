package switchboard

import (
	"net/http"
	"strings"

	"connectrpc.com/connect"

	"github.com/switchboard-ai/switchboard/gen/go/switchboard/v1/switchboardv1connect"
)

// Client calls a Switchboard gateway. The verbs of CapabilityService are its own methods
// (embedded); each admin service is a field. Every method is the generated connect-go one, behind
// the interceptors described in the package documentation, so failures are [*Error] values.
//
// A Client is safe for concurrent use; build one per gateway and reuse it.
type Client struct {
	switchboardv1connect.CapabilityServiceClient

	// Tenants manages orgs and teams.
	Tenants switchboardv1connect.TenantServiceClient
	// Keys manages virtual keys (create, list, revoke, rotate).
	Keys switchboardv1connect.KeyServiceClient
	// Credentials manages write-only provider credentials.
	Credentials switchboardv1connect.CredentialServiceClient
	// Routes manages route aliases and their targets.
	Routes switchboardv1connect.RouteServiceClient
	// Budgets manages spend caps and rate limits.
	Budgets switchboardv1connect.BudgetServiceClient
	// Prompts manages prompt templates and their versions.
	Prompts switchboardv1connect.PromptServiceClient
	// Usage reports usage and cost.
	Usage switchboardv1connect.UsageServiceClient
	// Audit queries the audit log.
	Audit switchboardv1connect.AuditServiceClient
	// Cache reports on and purges the response cache.
	Cache switchboardv1connect.CacheServiceClient
	// Guardrails manages guardrail policies.
	Guardrails switchboardv1connect.GuardrailServiceClient
}

// New returns a client for the gateway at baseURL (for example "http://127.0.0.1:8080") that
// authenticates with apiKey (a virtual key, "sb_live_…"). It does no I/O.
func New(baseURL, apiKey string, opts ...Option) *Client {
	cfg := defaultConfig()
	for _, opt := range opts {
		opt(&cfg)
	}
	baseURL = strings.TrimRight(baseURL, "/")
	httpClient := cfg.httpClient
	if httpClient == nil {
		httpClient = defaultHTTPClient(cfg.protocol)
	}
	// The first interceptor is the outermost: errors are converted last, the timeout spans every
	// attempt, and each attempt carries the key.
	clientOpts := []connect.ClientOption{
		connect.WithInterceptors(
			errorInterceptor{},
			timeoutInterceptor{timeout: cfg.timeout},
			retryInterceptor{policy: cfg.retry},
			AuthInterceptor(apiKey),
		),
	}
	switch cfg.protocol {
	case ProtocolGRPC:
		clientOpts = append(clientOpts, connect.WithGRPC())
	case ProtocolGRPCWeb:
		clientOpts = append(clientOpts, connect.WithGRPCWeb())
	}
	clientOpts = append(clientOpts, cfg.connectOptions...)

	return &Client{
		CapabilityServiceClient: switchboardv1connect.NewCapabilityServiceClient(httpClient, baseURL, clientOpts...),
		Tenants:                 switchboardv1connect.NewTenantServiceClient(httpClient, baseURL, clientOpts...),
		Keys:                    switchboardv1connect.NewKeyServiceClient(httpClient, baseURL, clientOpts...),
		Credentials:             switchboardv1connect.NewCredentialServiceClient(httpClient, baseURL, clientOpts...),
		Routes:                  switchboardv1connect.NewRouteServiceClient(httpClient, baseURL, clientOpts...),
		Budgets:                 switchboardv1connect.NewBudgetServiceClient(httpClient, baseURL, clientOpts...),
		Prompts:                 switchboardv1connect.NewPromptServiceClient(httpClient, baseURL, clientOpts...),
		Usage:                   switchboardv1connect.NewUsageServiceClient(httpClient, baseURL, clientOpts...),
		Audit:                   switchboardv1connect.NewAuditServiceClient(httpClient, baseURL, clientOpts...),
		Cache:                   switchboardv1connect.NewCacheServiceClient(httpClient, baseURL, clientOpts...),
		Guardrails:              switchboardv1connect.NewGuardrailServiceClient(httpClient, baseURL, clientOpts...),
	}
}

// defaultHTTPClient is net/http's defaults, except that gRPC gets HTTP/2 everywhere: negotiated
// over TLS, prior knowledge (h2c) over cleartext, which gRPC needs without TLS.
func defaultHTTPClient(p Protocol) *http.Client {
	if p != ProtocolGRPC {
		return &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	var protocols http.Protocols
	protocols.SetHTTP2(true)
	protocols.SetUnencryptedHTTP2(true)
	transport.Protocols = &protocols
	return &http.Client{Transport: transport}
}
