// Package client holds smoke tests that call a running Switchboard server through the generated
// Go code in gen/go (module github.com/switchboard-ai/switchboard/gen/go, wired in with a replace
// directive in go.mod). Point them at a server with SWITCHBOARD_URL, e.g.
//
//	SWITCHBOARD_URL=http://127.0.0.1:8080 go test ./...
//
// or run scripts/test-clients.sh from the repository root. Without SWITCHBOARD_URL the tests skip.
package client
