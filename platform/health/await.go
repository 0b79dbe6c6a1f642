package health

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// readyAttempt bounds one try of AwaitReady; retries back off from
// readyRetry to readyAttempt.
const (
	readyAttempt = 2 * time.Second
	readyRetry   = 100 * time.Millisecond
)

// AwaitReady tries GET <base>/readyz until it answers 200 or ctx ends, and
// then returns the last failure: the last answer it got, rather than the
// end of the wait cutting a try short. It is how one process waits for
// another it needs.
func AwaitReady(ctx context.Context, client *http.Client, base string) error {
	target, err := url.JoinPath(base, "readyz")
	if err != nil {
		return err
	}
	var last error
	for wait := readyRetry; ; wait = min(2*wait, readyAttempt) {
		err = getReady(ctx, client, target)
		if err == nil {
			return nil
		}
		if last == nil || ctx.Err() == nil {
			last = err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return last
		case <-t.C:
		}
	}
}

func getReady(ctx context.Context, client *http.Client, target string) error {
	ctx, cancel := context.WithTimeout(ctx, readyAttempt)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}
