package engine

import (
	json "github.com/goccy/go-json"
)

type accountInfo struct {
	ID                string          `json:"id"`
	Name              string          `json:"name"`
	Database          string          `json:"database"`
	AllowedOperations []string        `json:"allowed_operations"`
	RateLimit         rateLimitInfo   `json:"rate_limit"`
	Pool              accountPoolInfo `json:"pool"`
}

type rateLimitInfo struct {
	Limit        int64 `json:"limit"`
	Remaining    int64 `json:"remaining"`
	ResetSeconds int64 `json:"reset_seconds"`
}

type accountPoolInfo struct {
	MaxConns          int32 `json:"max_conns"`
	InUse             int32 `json:"in_use"`
	Idle              int32 `json:"idle"`
	AcquireCount      int64 `json:"acquire_count"`
	EmptyAcquireCount int64 `json:"empty_acquire_count"`
}

// serveAccount is GET /v1/account: who the token belongs to, what it may
// do, and how its pool and rate limit stand.
func (e *Engine) serveAccount(r *request) error {
	acc := r.acc
	var rate rateLimitInfo
	if d := &r.decision; r.limited {
		rate = rateLimitInfo{Limit: d.Limit, Remaining: d.Remaining, ResetSeconds: d.ResetSeconds()}
	}
	s := acc.pool.Stats()
	info := accountInfo{
		ID:                acc.cfg.ID,
		Name:              acc.cfg.Name,
		Database:          acc.db.name,
		AllowedOperations: acc.cfg.AllowedOperations,
		RateLimit:         rate,
		Pool: accountPoolInfo{
			MaxConns: s.MaxConns, InUse: s.InUse, Idle: s.Idle,
			AcquireCount: s.AcquireCount, EmptyAcquireCount: s.EmptyAcquireCount,
		},
	}
	if info.AllowedOperations == nil {
		info.AllowedOperations = []string{}
	}
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	r.ctx.SetContentTypeBytes(contentTypeJSON)
	r.ctx.Response.SetBodyRaw(b)
	return nil
}
