package login

import (
	"context"
	"net/http"
	"time"
)

// later registers fn at once, so that Wait (and the shutdown) count it
// from now on, and returns the func that starts it on its own goroutine,
// detached from the request's cancellation (but bounded to a minute). It
// is for work whose cost would tell whether an account exists: the answer
// is written whole and flushed first, then the work starts (redirectThen,
// and forgot-password's lookup, reset token and email; SECURITY-BAR A03).
// Registering before the answer means a client that has read the answer
// and calls Wait always waits for the work too. Errors are logged; the
// user sees the same page either way.
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

// Wait blocks until the work registered by later has finished: the
// server calls it after its last request on shutdown, and tests before
// they read the outbox.
func (h *Handler) Wait() { h.bg.Wait() }

// redirectThen answers with a redirect to the flow's step, whole and at
// once (an empty body of declared length, flushed), and only then starts
// send, when there is one, with later. Every email goes through it
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
