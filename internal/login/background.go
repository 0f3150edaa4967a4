package login

import (
	"context"
	"net/http"
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
	h.later(ctx, what, fn)()
}

// later registers fn as afterAnswer's work at once, so that Wait (and the
// shutdown) count it from now on, and returns the func that starts it: an
// answer flushed before its handler returns (redirectThen) registers its
// work before the client can read the answer, and starts it after.
func (h *Handler) later(ctx context.Context, what string, fn func(context.Context) error) (start func()) {
	h.bg.Add(1)
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		go func() {
			defer h.bg.Done()
			defer cancel()
			if err := fn(ctx); err != nil {
				h.Log.ErrorContext(ctx, what+" failed", "err", err)
			}
		}()
	}
}

// Wait blocks until the work started by afterAnswer has finished: the
// server calls it after its last request on shutdown, and tests before
// they read the outbox.
func (h *Handler) Wait() { h.bg.Wait() }

// redirectThen answers with a redirect to the flow's step, whole and at
// once (an empty body of declared length, flushed), and only then starts
// send, when there is one, with afterAnswer. Every email goes through it
// with or without send, so the answer is framed and written the same way
// on the wire, and its last byte leaves before the extra work begins
// (SECURITY-BAR A02, A03).
func (h *Handler) redirectThen(w http.ResponseWriter, r *http.Request, f *flow, what string, send func(context.Context) error) {
	start := func() {}
	if send != nil {
		start = h.later(r.Context(), what, send)
	}
	w.Header().Set("Content-Length", "0")
	seeOther(w, flowURL(f))
	_ = http.NewResponseController(w).Flush()
	start()
}
