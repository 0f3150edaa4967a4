package login

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/settings"
)

// pageNames are the templates every build must have: templates/<name>.html
// beside templates/layout.html.
var pageNames = []string{"email", "password", "code", "link", "organizations", "signup", "forgot", "reset", "message", "account"}

// pages holds the parsed templates, one set per page (layout + page).
type pages struct {
	t   map[string]*template.Template
	css string // content-hash URL of the stylesheet
}

// parsePages parses every page at start; a missing or broken template is
// an error, so the server does not start with a page it cannot show.
func parsePages(fsys fs.FS) (*pages, error) {
	p := &pages{t: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New(name).ParseFS(fsys, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("login page %s: %w", name, err)
		}
		if t.Lookup("layout") == nil || t.Lookup("content") == nil {
			return nil, fmt.Errorf("login page %s: the template must define layout and content", name)
		}
		p.t[name] = t
	}
	return p, nil
}

// base is what every page shows: branding, the CSRF token and the
// authorization request of the flow, and an error or notice.
type base struct {
	Title, Heading string
	Brand          settings.Branding
	CSS, Nonce     string
	CSRF           string
	AuthRequest    string
	Error, Notice  string

	formTarget string // CSP form-action source for the client's redirect URI
}

func (b *base) common() *base { return b }

type page interface{ common() *base }

// The pages, one type each.
type (
	emailPage struct {
		base
		Email                string
		Signup               bool
		SignupAllowed        bool
		SignInURL, SignUpURL string
	}
	// passwordPage is the sign-in step after the email, the same for
	// every email (SECURITY-BAR A02): a password form and a form for the
	// code that was emailed if the account has no password.
	passwordPage struct {
		base
		Email, ForgotURL string
		// CodeError says the error is about the code, not the password.
		CodeError bool
		// SignupAllowed: unknown emails were sent a code to sign up too.
		SignupAllowed bool
		// MailTrouble says the mail server is failing (mailhealth.go).
		MailTrouble string
	}
	codePage struct {
		base
		Email string
		// MailTrouble says the mail server is failing (mailhealth.go).
		MailTrouble string
	}
	linkPage struct {
		base
		Email, Token string
	}
	orgChoice struct {
		ID, Name string
		Invited  bool
	}
	organizationsPage struct {
		base
		Email string
		Orgs  []orgChoice
	}
	signupPage struct {
		base
		Email, GivenName, FamilyName, OrgName string
	}
	forgotPage struct {
		base
		Email, BackURL string
	}
	resetPage struct {
		base
		Email, Token string
	}
	messagePage struct {
		base
		Message, LinkURL, LinkText string
	}
)

// render executes a page into a buffer, then writes headers and body, so
// a template error never leaves half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	b := p.common()
	b.Nonce = randomToken(16)
	b.CSS = h.pages.css
	var buf bytes.Buffer
	if err := h.pages.t[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		h.Log.ErrorContext(r.Context(), "rendering a login page failed", "page", name, "err", err)
		setHeaders(w, "", false, "")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	imgHTTP := strings.HasPrefix(b.Brand.LogoURL, "http:") || strings.HasPrefix(b.Brand.FaviconURL, "http:")
	setHeaders(w, b.Nonce, imgHTTP, b.formTarget)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// frame fills the base of a page for a flow (nil for none): branding for
// the organization the sign-in is for, or the environment's.
func (h *Handler) frame(ctx context.Context, f *flow, title string) base {
	b := base{Title: title, Heading: title}
	orgID := ""
	if f != nil {
		b.CSRF, b.AuthRequest, b.Notice = f.d.CSRF, f.row.AuthRequestID, f.d.Notice
		orgID = f.d.OrgHint
		if ar, err := h.authRequest(ctx, f); err == nil && ar != nil {
			orgID = ar.OrganizationID
			b.formTarget = cspSource(ar.RedirectURI)
		}
	}
	brand, err := h.Settings.BrandingFor(ctx, orgID)
	if err != nil && orgID != "" {
		brand, err = h.Settings.BrandingFor(ctx, "")
	}
	if err != nil {
		h.Log.WarnContext(ctx, "reading branding failed", "err", err)
	}
	b.Brand = brand
	return b
}

// Typed renderers, one per page.

func (h *Handler) renderEmail(w http.ResponseWriter, r *http.Request, status int, f *flow, errMsg string) {
	title := "Sign in"
	if f.d.Signup {
		title = "Create your account"
	}
	p := emailPage{base: h.frame(r.Context(), f, title), Email: f.d.Email, Signup: f.d.Signup, SignupAllowed: h.SignupAllowed}
	if !f.d.Signup && p.Brand.LoginHeading != "" {
		p.Heading = p.Brand.LoginHeading
	}
	p.Error = errMsg
	q := url.Values{}
	if f.row.AuthRequestID != "" {
		q.Set("auth_request", f.row.AuthRequestID)
	}
	p.SignInURL = withQuery(oauth.LoginPath, q)
	q.Set("screen", "signup")
	p.SignUpURL = withQuery(oauth.LoginPath, q)
	h.render(w, r, status, "email", &p)
}

// renderPassword shows the password step with an error about the password.
func (h *Handler) renderPassword(w http.ResponseWriter, r *http.Request, status int, f *flow, errMsg string) {
	h.renderPasswordStep(w, r, status, f, errMsg, false)
}

// renderPasswordStep shows the password step; codeErr puts the error on
// the code form.
func (h *Handler) renderPasswordStep(w http.ResponseWriter, r *http.Request, status int, f *flow, errMsg string, codeErr bool) {
	p := passwordPage{base: h.frame(r.Context(), f, "Sign in"), Email: f.d.Email, CodeError: codeErr && errMsg != "",
		SignupAllowed: h.SignupAllowed}
	p.Error = errMsg
	if h.mailFailing(r.Context()) {
		p.MailTrouble = mailTroubleCode
	}
	q := url.Values{}
	if f.row.AuthRequestID != "" {
		q.Set("auth_request", f.row.AuthRequestID)
	}
	p.ForgotURL = withQuery("/login/forgot", q)
	h.render(w, r, status, "password", &p)
}

// renderCodeError shows a refused code on the page it was typed on: the
// code step, or the password step's code form.
func (h *Handler) renderCodeError(w http.ResponseWriter, r *http.Request, status int, f *flow, errMsg string) {
	if f.d.Step == stepPassword {
		h.renderPasswordStep(w, r, status, f, errMsg, true)
		return
	}
	h.renderCode(w, r, status, f, errMsg)
}

func (h *Handler) renderCode(w http.ResponseWriter, r *http.Request, status int, f *flow, errMsg string) {
	p := codePage{base: h.frame(r.Context(), f, "Check your email"), Email: f.d.Email}
	p.Error = errMsg
	if h.mailFailing(r.Context()) {
		p.MailTrouble = mailTroubleCode
	}
	h.render(w, r, status, "code", &p)
}

func (h *Handler) renderLink(w http.ResponseWriter, r *http.Request, f *flow, email, token string) {
	p := linkPage{base: h.frame(r.Context(), f, "Sign in"), Email: email, Token: token}
	h.render(w, r, http.StatusOK, "link", &p)
}

func (h *Handler) renderOrganizations(w http.ResponseWriter, r *http.Request, status int, f *flow, orgs []orgChoice, errMsg string) {
	p := organizationsPage{base: h.frame(r.Context(), f, "Choose an organization"), Email: f.d.Email, Orgs: orgs}
	p.Error = errMsg
	h.render(w, r, status, "organizations", &p)
}

func (h *Handler) renderSignup(w http.ResponseWriter, r *http.Request, status int, f *flow, given, family, org, errMsg string) {
	p := signupPage{base: h.frame(r.Context(), f, "Create your account"), Email: f.d.Email, GivenName: given, FamilyName: family, OrgName: org}
	p.Error = errMsg
	h.render(w, r, status, "signup", &p)
}

func (h *Handler) renderForgot(w http.ResponseWriter, r *http.Request, status int, f *flow, email, errMsg string) {
	p := forgotPage{base: h.frame(r.Context(), f, "Reset your password"), Email: email, BackURL: flowURL(f)}
	p.Error = errMsg
	h.render(w, r, status, "forgot", &p)
}

func (h *Handler) renderReset(w http.ResponseWriter, r *http.Request, status int, f *flow, email, token, errMsg string) {
	p := resetPage{base: h.frame(r.Context(), f, "Choose a new password"), Email: email, Token: token}
	p.Error = errMsg
	h.render(w, r, status, "reset", &p)
}

// msg is what a message page says; Alert, when set, is shown as the
// page's error (role=alert) above the message.
type msg struct{ Heading, Message, LinkURL, LinkText, Alert string }

// message shows a page with a heading, a message and an optional link.
func (h *Handler) message(w http.ResponseWriter, r *http.Request, status int, f *flow, m msg) {
	p := messagePage{base: h.frame(r.Context(), f, m.Heading), Message: m.Message, LinkURL: m.LinkURL, LinkText: m.LinkText}
	p.Error = m.Alert
	h.render(w, r, status, "message", &p)
}

func withQuery(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}
