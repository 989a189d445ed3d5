// Package switchboard is the Go client for Switchboard, an open-source AI gateway.
//
// It is a thin layer over the connect-go code generated from the gateway's Protobuf schema
// (module github.com/switchboard-ai/switchboard/gen/go): [New] builds one generated client per
// service, all sharing one HTTP client and one interceptor chain that
//
//   - sends the API key as "authorization: Bearer <key>" on every call ([AuthInterceptor]);
//   - applies a default timeout to calls whose context has no deadline ([WithTimeout]); a deadline
//     on the context is always passed to the server, which stops work when it passes;
//   - retries calls that failed with Unavailable, and only those, with jittered exponential backoff
//     that honours a retry delay the server asks for; ResourceExhausted (a budget or rate limit) is
//     never retried ([WithRetries], [WithRetryBackoff]);
//   - returns every RPC failure as an [*Error], which wraps the [*connect.Error] and carries the
//     gateway's typed error details already decoded.
//
// The verbs are methods of [Client] itself (Summarize, Classify, Extract, Answer, Chat,
// ChatStream, Embed); the admin services are fields (Keys, Routes, Tenants, ...). Requests and
// responses are the generated switchboardv1 messages:
//
//	client := switchboard.New("http://127.0.0.1:8080", os.Getenv("SWITCHBOARD_KEY"))
//	res, err := client.Summarize(ctx, connect.NewRequest(&switchboardv1.SummarizeRequest{Text: text}))
//	var sbErr *switchboard.Error
//	if errors.As(err, &sbErr) && sbErr.BudgetExceeded != nil { ... }
package switchboard
