package auditsink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// One _bulk request and the reading of its answer: which documents the
// cluster took, which to send again.

// errRetry is a response worth retrying whole: 429, 5xx.
type errRetry struct{ status int }

func (e errRetry) Error() string { return fmt.Sprintf("auditsink: _bulk answered %d", e.status) }

// post sends batch once. It settles what the cluster took (and what it
// refused for good) and returns the documents to send again, in their
// order; a non-nil error means the whole batch is to be retried.
func (s *Sink) post(batch [][]byte) ([][]byte, error) {
	b := s.body[:0]
	for _, d := range batch {
		b = append(b, s.indexLine...)
		b = append(b, d...)
		b = append(b, '\n')
	}
	// The body is kept for the next batch: at most the buffered bytes of
	// one batch plus its index lines, so MaxBuffered bounds it too.
	s.body = b
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, s.bulkURL, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	if s.auth != "" {
		req.Header.Set("Authorization", s.auth)
	}
	resp, err := s.o.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return nil, errRetry{resp.StatusCode}
	case resp.StatusCode >= 300:
		s.o.Logger.Warn("audit: OpenSearch refused a batch", "status", resp.StatusCode, "docs", len(batch), "body", clip(body))
		s.settle(batch, &s.failed)
		return nil, nil
	}
	return s.items(batch, body)
}

// bulkResponse is the part of a _bulk answer the sink reads.
type bulkResponse struct {
	Errors bool                         `json:"errors"`
	Items  []map[string]json.RawMessage `json:"items"`
}

type bulkItem struct {
	Status int `json:"status"`
}

// items settles batch by a 2xx _bulk answer: with "errors": false all were
// taken; otherwise each item's status says which were (2xx), which to send
// again (429, 5xx) and which were refused for good.
func (s *Sink) items(batch [][]byte, body []byte) ([][]byte, error) {
	var head struct {
		Errors bool `json:"errors"`
	}
	if err := json.Unmarshal(body, &head); err != nil || !head.Errors {
		// Not a _bulk answer we can read: the status said 2xx, so the
		// documents count as taken rather than sent twice.
		s.settle(batch, &s.sent)
		return nil, nil
	}
	var r bulkResponse
	if err := json.Unmarshal(body, &r); err != nil || len(r.Items) != len(batch) {
		s.o.Logger.Warn("audit: OpenSearch answered errors with an unreadable item list; retrying the batch", "docs", len(batch))
		return nil, errRetry{200}
	}
	var retry, taken, refused [][]byte
	for i, it := range r.Items {
		var bi bulkItem
		for _, raw := range it {
			_ = json.Unmarshal(raw, &bi)
			break
		}
		switch {
		case bi.Status >= 200 && bi.Status < 300:
			taken = append(taken, batch[i])
		case bi.Status == http.StatusTooManyRequests || bi.Status >= 500:
			retry = append(retry, batch[i])
		default:
			refused = append(refused, batch[i])
		}
	}
	s.settle(taken, &s.sent)
	if len(refused) > 0 {
		s.o.Logger.Warn("audit: OpenSearch refused documents", "docs", len(refused))
		s.settle(refused, &s.failed)
	}
	return retry, nil
}

func clip(b []byte) string {
	if len(b) > 512 {
		b = b[:512]
	}
	return string(b)
}
