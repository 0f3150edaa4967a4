package login

import (
	"context"
	"time"
)

// afterAnswer runs fn on its own goroutine, detached from the request's
// cancellation (but bounded to a minute), so that the answer does not wait
// for it. It is for work whose cost would tell whether an account exists:
// a forgot-password request answers after the same steps for every email,
// and the lookup, the reset token and the email happen here (SECURITY-BAR
// A03). Errors are logged; the user sees the same page either way. Wait
// waits for every such job.
func (h *Handler) afterAnswer(ctx context.Context, what string, fn func(context.Context) error) {
	h.bg.Add(1)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	go func() {
		defer h.bg.Done()
		defer cancel()
		if err := fn(ctx); err != nil {
			h.Log.ErrorContext(ctx, what+" failed", "err", err)
		}
	}()
}

// Wait blocks until the work started by afterAnswer has finished: the
// server calls it after its last request on shutdown, and tests before
// they read the outbox.
func (h *Handler) Wait() { h.bg.Wait() }
