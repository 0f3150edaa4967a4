package login

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
)

// FlowCookie holds the login flow of a browser. Like the session cookie it
// is __Host- (Secure, Path=/, no Domain), HttpOnly and SameSite=Lax, and
// lives as long as the browser session.
const FlowCookie = "__Host-gatehouse_login"

// Steps of a flow.
const (
	stepEmail        = "email"
	stepPassword     = "password"
	stepCode         = "code"
	stepSignup       = "signup"
	stepOrganization = "organization"
)

var errNoFlow = errors.New("no login flow")

// flowData is what a flow remembers between requests (login_flows.data).
type flowData struct {
	Step   string `json:"step"`
	CSRF   string `json:"csrf"`
	Email  string `json:"email,omitempty"`
	Signup bool   `json:"signup,omitempty"` // the user asked to create an account
	// Set once the user has authenticated (password, code or link).
	UserID   string   `json:"user_id,omitempty"`
	AMR      []string `json:"amr,omitempty"`
	Verified bool     `json:"verified,omitempty"` // the user proved they read the email
	// For a sign-in that started without an authorization request (an
	// invitation link): the organization and email it named.
	OrgHint   string `json:"org_hint,omitempty"`
	LoginHint string `json:"login_hint,omitempty"`
	// Notice is shown once on the next page.
	Notice string `json:"notice,omitempty"`
	// CodeSent is set when the flow emails a code: its challenges are
	// deleted with it (end). A challenge left behind by a flow saved
	// before this field existed is swept when it expires, and is of no
	// use meanwhile: its code and link work only in their flow.
	CodeSent bool `json:"code_sent,omitempty"`
}

// flow is a login flow as a request sees it.
type flow struct {
	row *store.LoginFlow
	d   flowData
	// The authorization request as this request read it (authRequest).
	ar     *oauth.AuthRequest
	arErr  error
	arRead bool
	// The password step's attempt as this request read it, with the flow
	// (loadPasswordStep) for the email attemptFor, or on its own.
	attempt    *store.PasswordAttempt
	attemptFor string
}

func hashSecret(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

func equalSecret(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func setFlowCookie(w http.ResponseWriter, value string) {
	http.SetCookie(w, &http.Cookie{Name: FlowCookie, Value: value, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode})
}

func clearFlowCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: FlowCookie, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode})
}

// loadFlow returns the live flow of this browser, or errNoFlow. A cookie
// value the server never issued (planted by someone else) finds nothing.
func (h *Handler) loadFlow(r *http.Request) (*flow, error) {
	cookie := flowCookie(r)
	if cookie == "" {
		return nil, errNoFlow
	}
	row, ar, err := h.Store.Q().LoginFlowByCookie(r.Context(), h.EnvID, hashSecret(cookie), h.Now())
	return h.flowFrom(row, ar, err)
}

// loadPasswordStep is loadFlow for the password step: the attempt of the
// email the form names (its username field, which the page fills with the
// flow's) comes with the flow in one statement. password uses it only
// when that is the flow's email, and reads it again otherwise.
func (h *Handler) loadPasswordStep(r *http.Request) (*flow, error) {
	cookie, email := flowCookie(r), normEmail(r.PostFormValue("username"))
	if cookie == "" || email == "" {
		return h.loadFlow(r)
	}
	acct, perIP := h.passwordChecks(email, clientIP(r))
	row, ar, read, err := h.Store.Q().ReadPasswordStep(r.Context(), h.EnvID, hashSecret(cookie), h.Now(), email, acct.bucket, perIP.bucket)
	f, err := h.flowFrom(row, ar, err)
	if f != nil {
		f.attempt, f.attemptFor = &read, email
	}
	return f, err
}

// flowCookie is the request's flow cookie, "" when it has none or one of
// the wrong length.
func flowCookie(r *http.Request) string {
	c, err := r.Cookie(FlowCookie)
	if err != nil || len(c.Value) != 43 {
		return ""
	}
	return c.Value
}

// flowFrom is the flow of a flow read (row, its authorization request ar,
// and the read's error).
func (h *Handler) flowFrom(row *store.LoginFlow, ar *store.AuthRequest, err error) (*flow, error) {
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoFlow
	}
	if err != nil {
		return nil, err
	}
	f := &flow{row: row}
	if err := json.Unmarshal([]byte(row.Data), &f.d); err != nil || f.d.CSRF == "" {
		return nil, errNoFlow
	}
	if row.AuthRequestID != "" {
		// Read with the flow: what authRequest would read next.
		f.ar, f.arErr = h.OAuth.Usable(ar)
		f.arRead = true
	}
	return f, nil
}

// newFlow starts a flow for an authorization request ("" for a sign-in
// without one) and sets its cookie. Expired flows of the environment are
// swept on the way.
func (h *Handler) newFlow(ctx context.Context, w http.ResponseWriter, authRequestID string, d flowData) (*flow, error) {
	now := h.Now()
	cookie := randomToken(32)
	d.CSRF = randomToken(32)
	if d.Step == "" {
		d.Step = stepEmail
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	row := &store.LoginFlow{ID: h.IDs.New("lgf"), EnvID: h.EnvID, CookieHash: hashSecret(cookie), AuthRequestID: authRequestID,
		Data: string(b), CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(FlowTTL)}
	err = h.Store.Tx(ctx, func(q *store.Q) error {
		if err := q.DeleteExpiredLogins(ctx, h.EnvID, now, now.Add(-2*throttleWindowMax)); err != nil {
			return err
		}
		return q.CreateLoginFlow(ctx, row)
	})
	if err != nil {
		return nil, err
	}
	setFlowCookie(w, cookie)
	return &flow{row: row, d: d}, nil
}

// save writes the flow's data.
func (h *Handler) save(ctx context.Context, f *flow) error {
	b, err := json.Marshal(f.d)
	if err != nil {
		return err
	}
	f.row.Data, f.row.UpdatedAt = string(b), h.Now()
	return h.Store.Q().UpdateLoginFlow(ctx, f.row)
}

// rotate gives the flow a new cookie (and CSRF token) and saves it: done
// when the user authenticates, so a cookie value someone planted or saw
// before is worth nothing afterwards (SECURITY-BAR S01).
func (h *Handler) rotate(ctx context.Context, w http.ResponseWriter, f *flow) error {
	cookie := randomToken(32)
	f.row.CookieHash, f.d.CSRF = hashSecret(cookie), randomToken(32)
	if err := h.save(ctx, f); err != nil {
		return err
	}
	setFlowCookie(w, cookie)
	return nil
}

// end deletes the flow, its challenges when it sent any, and its cookie.
func (h *Handler) end(ctx context.Context, w http.ResponseWriter, f *flow) error {
	clearFlowCookie(w)
	return h.Store.Q().DeleteLoginFlow(ctx, h.EnvID, f.row.ID, f.d.CodeSent)
}
