package login

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/metrics"
	"github.com/gatehouse/gatehouse/internal/store"
)

// newCode returns 6 uniformly random digits from crypto/rand.
func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic("login: no randomness: " + err.Error())
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// codeHash is the stored form of a code: an HMAC under the server's code
// key, bound to the challenge, so the database alone does not give codes
// away even though there are only a million of them.
func (h *Handler) codeHash(challengeID, code string) string {
	m := hmac.New(sha256.New, h.CodeKey)
	m.Write([]byte(challengeID + ":" + code))
	return hex.EncodeToString(m.Sum(nil))
}

// live reports whether a challenge can still be used at now.
func (h *Handler) live(c *store.LoginChallenge) bool {
	return c.UsedAt.IsZero() && c.SupersededAt.IsZero() && h.Now().Before(c.ExpiresAt) && c.Attempts < MaxCodeTries
}

// signedOutSince reports whether the account of a challenge's email
// signed out (a session ended by /oidc/logout) after the challenge was
// asked for. Such a code or link is dead: signing out must also end a
// sign-in that was waiting for its email (SECURITY-BAR A10).
func (h *Handler) signedOutSince(ctx context.Context, c *store.LoginChallenge) (bool, error) {
	userID, _, err := h.Store.Q().LoginLookup(ctx, h.EnvID, c.EmailNorm)
	if err != nil || userID == "" {
		return false, err
	}
	at, err := h.Store.Q().LastLogoutAt(ctx, h.EnvID, userID)
	return err == nil && !at.Before(c.CreatedAt), err
}

// sendChecks are the limits on emailed codes: per email and per address.
func (h *Handler) sendChecks(norm, ip string) (perEmail, perIP check) {
	return check{sendBucket(norm), h.Limits.SendPerEmail}, check{sendIPBucket(ip), h.Limits.SendPerIP}
}

// sendNotice is the page's notice when too many codes were asked for one
// email or from one address ("" when another may be sent): the same for
// every email.
func (h *Handler) sendNotice(ctx context.Context, perEmail, perIP check) (string, error) {
	wait, err := h.waitAny(ctx, perEmail, perIP)
	if err != nil || wait == 0 {
		return "", err
	}
	return "We have sent several codes recently. Use the newest one, or ask for another in " + waitText(wait) + ".", nil
}

// newChallenge makes a code and magic link for the flow's email: the
// challenge that stores them (hashed) and the email that carries them,
// nil for an unknown email when the environment does not allow sign-up.
func (h *Handler) newChallenge(f *flow, known bool) (*store.LoginChallenge, *store.Email) {
	now := h.Now()
	code, token := newCode(), randomToken(32)
	c := &store.LoginChallenge{ID: h.IDs.New("lch"), EnvID: h.EnvID, FlowID: f.row.ID, EmailNorm: normEmail(f.d.Email),
		LinkHash: hashSecret(token), CreatedAt: now, ExpiresAt: now.Add(CodeTTL)}
	c.CodeHash = h.codeHash(c.ID, code)
	// A11: links are built on the configured public URL, never on the
	// request's Host or forwarded headers.
	link := h.PublicURL + "/login/link?" + url.Values{"token": {token}}.Encode()
	var mail *store.Email
	switch {
	case known:
		mail = &store.Email{Kind: "login_code", Subject: "Your sign-in code",
			Body: fmt.Sprintf("Your sign-in code is %s\n\nIt expires in 10 minutes. Or sign in with this link, in the browser where you asked for it:\n%s\n\nIf you did not try to sign in, you can ignore this email.\n", code, link)}
	case h.SignupAllowed:
		mail = &store.Email{Kind: "signup_code", Subject: "Your code to create an account",
			Body: fmt.Sprintf("Your code is %s\n\nEnter it to confirm your email and create your account. It expires in 10 minutes. Or continue with this link, in the browser where you asked for it:\n%s\n\nIf you did not ask for this, you can ignore this email.\n", code, link)}
	default:
		return c, nil
	}
	mail.ID, mail.EnvID, mail.To, mail.CreatedAt = h.IDs.New(id.Email), h.EnvID, f.d.Email, now
	return c, mail
}

// sendChallenge counts a request for a code against the per-email and
// per-address limits and returns the job that stores a new code and magic
// link for the flow's email (ending the older ones) and queues its email
// (none for an unknown address unless the environment allows sign-up), to
// run after the answer: before the answer every email costs the same
// (SECURITY-BAR A03). When a limit is reached nothing is counted or sent,
// and the notice for the page, the same for every email, comes back
// instead of a job.
func (h *Handler) sendChallenge(ctx context.Context, f *flow, known bool, ip string) (notice string, send func(context.Context) error, err error) {
	perEmail, perIP := h.sendChecks(normEmail(f.d.Email), ip)
	if notice, err := h.sendNotice(ctx, perEmail, perIP); notice != "" || err != nil {
		return notice, nil, err
	}
	if err := h.hit(ctx, perEmail, perIP); err != nil {
		return "", nil, err
	}
	return "", func(ctx context.Context) error {
		c, mail := h.newChallenge(f, known)
		return h.Store.Tx(ctx, func(q *store.Q) error {
			if err := q.CreateLoginChallenge(ctx, c); err != nil || mail == nil {
				return err
			}
			return q.AddEmail(ctx, mail)
		})
	}, nil
}

// sendAndShowCode sends a challenge and moves the flow to the code step;
// the email is queued after the answer (SECURITY-BAR A03).
func (h *Handler) sendAndShowCode(w http.ResponseWriter, r *http.Request, f *flow, known bool) {
	f.d.CodeSent = true
	notice, send, err := h.sendChallenge(r.Context(), f, known, clientIP(r))
	if err != nil {
		h.serverError(w, r, "sending a code", err)
		return
	}
	f.d.Step, f.d.Notice = stepCode, notice
	if err := h.save(r.Context(), f); err != nil {
		h.serverError(w, r, "saving a login flow", err)
		return
	}
	h.redirectThen(w, r, f, "emailing a sign-in code", send)
}

// sendCode is POST /login/code/send: "email me a code instead" on the
// password step, and "send a new code" on the code step.
func (h *Handler) sendCode(w http.ResponseWriter, r *http.Request, f *flow) {
	if f.d.UserID != "" || (f.d.Step != stepPassword && f.d.Step != stepCode) {
		seeOther(w, flowURL(f))
		return
	}
	userID, _, err := h.Store.Q().LoginLookup(r.Context(), h.EnvID, normEmail(f.d.Email))
	if err != nil {
		h.serverError(w, r, "looking up a user", err)
		return
	}
	h.sendAndShowCode(w, r, f, userID != "")
}

// code is POST /login/code, from the code step or the password step's
// code form: checks the code against the flow's newest challenge. Five
// wrong codes end a challenge; wrong codes also count per account across
// challenges and per address (SECURITY-BAR A08, A09).
func (h *Handler) code(w http.ResponseWriter, r *http.Request, f *flow) {
	ctx := r.Context()
	if f.d.Step != stepCode && f.d.Step != stepPassword {
		seeOther(w, flowURL(f))
		return
	}
	code := strings.ReplaceAll(strings.TrimSpace(r.PostFormValue("code")), " ", "")
	norm, ip := normEmail(f.d.Email), clientIP(r)
	acct, perIP := check{codeBucket(norm), h.Limits.CodePerAccount}, check{failIPBucket(ip), h.Limits.FailuresPerIP}
	wait, err := h.waitAny(ctx, acct, perIP)
	if err != nil {
		h.serverError(w, r, "reading a throttle", err)
		return
	}
	if wait > 0 {
		h.attempt(r, f, metrics.MethodOTP, metrics.OutcomeThrottled, "")
		h.renderCodeError(w, r, http.StatusTooManyRequests, f, "Too many wrong codes. Try again in "+waitText(wait)+".")
		return
	}
	const dead = "This code has expired or can no longer be used. Ask for a new code."
	c, err := h.Store.Q().LatestLoginChallenge(ctx, h.EnvID, f.row.ID)
	signedOut := false
	if err == nil {
		signedOut, err = h.signedOutSince(ctx, c)
	}
	if errors.Is(err, store.ErrNotFound) || (err == nil && (!h.live(c) || c.EmailNorm != norm || signedOut)) {
		h.attempt(r, f, metrics.MethodOTP, metrics.OutcomeFailure, "")
		h.renderCodeError(w, r, http.StatusBadRequest, f, dead)
		return
	} else if err != nil {
		h.serverError(w, r, "reading a code", err)
		return
	}
	if len(code) != 6 || !hmac.Equal([]byte(h.codeHash(c.ID, code)), []byte(c.CodeHash)) {
		n, err := h.Store.Q().FailLoginChallenge(ctx, h.EnvID, c.ID)
		if err == nil {
			err = h.hit(ctx, acct, perIP)
		}
		if err != nil {
			h.serverError(w, r, "counting a wrong code", err)
			return
		}
		h.Log.InfoContext(ctx, "login failed", "method", "otp", "ip", ip)
		h.attempt(r, f, metrics.MethodOTP, metrics.OutcomeFailure, "")
		m := "That code is not right. Check the email and try again."
		if n >= MaxCodeTries {
			m = "That code is not right, and it can no longer be used. Ask for a new code."
		}
		h.renderCodeError(w, r, http.StatusBadRequest, f, m)
		return
	}
	if err := h.Store.Q().UseLoginChallenge(ctx, h.EnvID, c.ID, h.Now(), MaxCodeTries); errors.Is(err, store.ErrNotFound) {
		h.attempt(r, f, metrics.MethodOTP, metrics.OutcomeFailure, "")
		h.renderCodeError(w, r, http.StatusBadRequest, f, dead)
		return
	} else if err != nil {
		h.serverError(w, r, "using a code", err)
		return
	}
	if err := h.clear(ctx, acct.bucket); err != nil {
		h.serverError(w, r, "resetting a throttle", err)
		return
	}
	h.emailProven(w, r, f, metrics.MethodOTP)
}

// emailProven continues a flow whose user has just shown they read the
// email (a code or a magic link): sign in, or sign up an unknown email.
func (h *Handler) emailProven(w http.ResponseWriter, r *http.Request, f *flow, method string) {
	u, err := h.Accounts.UserByEmail(r.Context(), normEmail(f.d.Email))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.serverError(w, r, "looking up a user", err)
		return
	}
	userID := ""
	if u != nil {
		userID = u.ID
	}
	h.attempt(r, f, method, metrics.OutcomeSuccess, userID)
	h.authenticated(w, r, f, u, "otp", true)
}

// magic link tokens are 32 random bytes, base64url: 43 characters.
const linkTokenLen = 43

// linkPage is GET /login/link?token=...: it only shows a confirmation
// form, so a mail scanner that fetches the link neither uses nor burns it
// (SECURITY-BAR A10). The link works only in the browser whose flow asked
// for it; elsewhere the page says to use that browser or the code.
func (h *Handler) linkPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	f, c, status, m := h.linkChallenge(r, token)
	if status != 0 {
		h.message(w, r, status, f, m)
		return
	}
	_ = c
	h.renderLink(w, r, f, f.d.Email, token)
}

// linkChallenge finds the usable challenge of a magic link for this
// browser, or the page to show instead.
func (h *Handler) linkChallenge(r *http.Request, token string) (*flow, *store.LoginChallenge, int, msg) {
	f, err := h.loadFlow(r)
	if err != nil && !errors.Is(err, errNoFlow) {
		return nil, nil, http.StatusInternalServerError, msg{Heading: "Something went wrong", Message: "Please try again in a moment."}
	}
	expired := msg{Heading: "This link has expired", Message: "Sign-in links work once, for 10 minutes. Ask for a new one.",
		LinkURL: "/login", LinkText: "Start again"}
	if f != nil {
		expired.LinkURL = flowURL(f)
	}
	if len(token) != linkTokenLen {
		return f, nil, http.StatusBadRequest, expired
	}
	c, err := h.Store.Q().LoginChallengeByLink(r.Context(), h.EnvID, hashSecret(token))
	signedOut := false
	if err == nil {
		signedOut, err = h.signedOutSince(r.Context(), c)
	}
	if errors.Is(err, store.ErrNotFound) || (err == nil && (!h.live(c) || signedOut)) {
		return f, nil, http.StatusBadRequest, expired
	} else if err != nil {
		return f, nil, http.StatusInternalServerError, msg{Heading: "Something went wrong", Message: "Please try again in a moment."}
	}
	if f == nil || f.row.ID != c.FlowID || normEmail(f.d.Email) != c.EmailNorm || f.d.UserID != "" {
		return f, nil, http.StatusBadRequest, msg{Heading: "Open this link where you started",
			Message: "For your security, a sign-in link works only in the browser where you asked for it. Open it there, or type the 6-digit code from the same email."}
	}
	return f, c, 0, msg{}
}

// consumeLink is POST /login/link: the confirmation; it uses the link.
func (h *Handler) consumeLink(w http.ResponseWriter, r *http.Request, _ *flow) {
	f, c, status, m := h.linkChallenge(r, r.PostFormValue("token"))
	if status != 0 {
		if status < 500 {
			h.attempt(r, f, metrics.MethodMagicLink, metrics.OutcomeFailure, "")
		}
		h.message(w, r, status, f, m)
		return
	}
	if err := h.Store.Q().UseLoginChallenge(r.Context(), h.EnvID, c.ID, h.Now(), MaxCodeTries); errors.Is(err, store.ErrNotFound) {
		h.attempt(r, f, metrics.MethodMagicLink, metrics.OutcomeFailure, "")
		h.message(w, r, http.StatusBadRequest, f, msg{Heading: "This link has expired",
			Message: "Sign-in links work once, for 10 minutes. Ask for a new one.", LinkURL: flowURL(f), LinkText: "Start again"})
		return
	} else if err != nil {
		h.serverError(w, r, "using a sign-in link", err)
		return
	}
	h.emailProven(w, r, f, metrics.MethodMagicLink)
}
