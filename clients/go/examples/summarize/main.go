// Command summarize condenses its standard input with Switchboard's Summarize verb.
//
//	export SWITCHBOARD_URL=http://127.0.0.1:8080 SWITCHBOARD_KEY=sb_live_…
//	echo "Switchboard routes model calls, enforces budgets and caches answers." | go run ./examples/summarize
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"connectrpc.com/connect"

	switchboard "github.com/switchboard-ai/switchboard/clients/go"
	switchboardv1 "github.com/switchboard-ai/switchboard/gen/go/switchboard/v1"
)

func main() {
	url := os.Getenv("SWITCHBOARD_URL")
	if url == "" {
		url = "http://127.0.0.1:8080"
	}
	text, err := io.ReadAll(os.Stdin)
	if err != nil {
		log.Fatal(err)
	}
	client := switchboard.New(url, os.Getenv("SWITCHBOARD_KEY"), switchboard.WithRetries(2))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := client.Summarize(ctx, connect.NewRequest(&switchboardv1.SummarizeRequest{
		Text:  string(text),
		Style: switchboardv1.SummaryStyle_SUMMARY_STYLE_BULLETS,
	}))
	var sbErr *switchboard.Error
	switch {
	case errors.As(err, &sbErr) && sbErr.BudgetExceeded != nil:
		log.Fatalf("over budget %s: spent %d of %d micro-USD", sbErr.BudgetExceeded.GetBudget(),
			sbErr.BudgetExceeded.GetSpentMicrosUsd(), sbErr.BudgetExceeded.GetLimitMicrosUsd())
	case errors.As(err, &sbErr) && sbErr.ProviderAttempts != nil:
		log.Fatalf("%v (%d provider attempts, request %s)", err, len(sbErr.ProviderAttempts.GetAttempts()),
			sbErr.ProviderAttempts.GetRequestId())
	case err != nil:
		log.Fatal(err)
	}
	fmt.Println(res.Msg.GetSummary())
	usage := res.Msg.GetUsage()
	fmt.Fprintf(os.Stderr, "%s/%s: %d+%d tokens, %d micro-USD\n", usage.GetProvider(), usage.GetModel(),
		usage.GetInputTokens(), usage.GetOutputTokens(), usage.GetCostMicrosUsd())
}
