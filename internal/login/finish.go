package login

import (
	"context"

	"connectrpc.com/connect"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/authlog"
	"github.com/gatehouse/gatehouse/internal/metrics"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/settings"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ReasonReplaced ends a browser's previous session when it signs in again
// (SECURITY-BAR S01); the API shows such a session as REVOKED.
const ReasonReplaced = "replaced_by_login"

// authenticated continues a flow whose user just proved who they are: u
// is nil for an unknown email that verified a code (sign-up, when
// allowed). A flow that goes on to another step gets a new cookie when it
// is saved (S01); one that ends in this answer (chooseOrganization) is
// deleted instead, and never written in its authenticated state.
func (h *Handler) authenticated(w http.ResponseWriter, r *http.Request, f *flow, u *store.User, amr string, verified bool) {
	h.authenticatedLogged(w, r, f, u, amr, verified, nil)
}

// authenticatedLogged is authenticated for a sign-in whose successful
// attempt is still to be written to the authentication log (logged, nil
// for none): finishAtOnce writes it in its transaction, saving a commit;
// every other way leaves it to the caller's Flush.
func (h *Handler) authenticatedLogged(w http.ResponseWriter, r *http.Request, f *flow, u *store.User, amr string, verified bool, logged *authlog.Pending) {
	f.d.Verified, f.d.AMR, f.d.Notice = verified, []string{amr}, ""
	if u == nil {
		if !h.SignupAllowed || !verified {
			h.message(w, r, http.StatusBadRequest, nil, msg{Heading: "We could not sign you in",
				Message: "There is no account for this email address.", LinkURL: flowURL(f), LinkText: "Try another email"})
			return
		}
		f.d.Step = stepSignup
		if err := h.rotate(r.Context(), w, f); err != nil {
			h.serverError(w, r, "saving a login flow", err)
			return
		}
		seeOther(w, flowURL(f))
		return
	}
	f.d.UserID, f.d.Email, f.d.Step = u.ID, u.Email, stepOrganization
	h.chooseOrganization(w, r, f, u, true, logged)
}

// eligible lists the organizations a user can sign in to: ACTIVE
// memberships and pending invitations that have not expired.
func eligible(u *store.User) []orgChoice {
	var out []orgChoice
	for _, m := range u.Memberships {
		switch m.Status {
		case store.MembershipActive:
			out = append(out, orgChoice{ID: m.OrgID, Name: m.OrgName})
		case store.MembershipPendingInvite:
			out = append(out, orgChoice{ID: m.OrgID, Name: m.OrgName, Invited: true})
		}
	}
	return out
}

// chooseOrganization signs an authenticated user in to the organization
// the request names (a non-member is refused with access_denied), to
// their only one, or shows the picker (several, or prompt=select_account).
// rotate saves the flow under a new cookie before the picker (S01): the
// user has just authenticated and the flow lives on; every other outcome
// ends the flow.
func (h *Handler) chooseOrganization(w http.ResponseWriter, r *http.Request, f *flow, u *store.User, rotate bool, logged *authlog.Pending) {
	ctx := r.Context()
	ar, err := h.authRequest(ctx, f)
	if errors.Is(err, oauth.ErrAuthRequestNotFound) {
		h.expired(w, r, f)
		return
	} else if err != nil {
		h.serverError(w, r, "reading an authorization request", err)
		return
	}
	orgs := eligible(u)
	want, selectAccount := f.d.OrgHint, false
	if ar != nil {
		want = ar.OrganizationID
		selectAccount = slices.Contains(strings.Fields(ar.Prompt), "select_account")
	}
	if want != "" {
		if !slices.ContainsFunc(orgs, func(o orgChoice) bool { return o.ID == want }) {
			h.notMember(w, r, f)
			return
		}
		h.finish(w, r, f, u, want, logged)
		return
	}
	switch {
	case len(orgs) == 0:
		h.finish(w, r, f, u, "", logged)
	case len(orgs) == 1 && !selectAccount:
		h.finish(w, r, f, u, orgs[0].ID, logged)
	default:
		if rotate {
			if err := h.rotate(ctx, w, f); err != nil {
				h.serverError(w, r, "saving a login flow", err)
				return
			}
		}
		seeOther(w, flowURL(f))
	}
}

// notMember ends a sign-in for an organization the user does not belong
// to: the app gets access_denied.
func (h *Handler) notMember(w http.ResponseWriter, r *http.Request, f *flow) {
	ctx := r.Context()
	if err := h.end(ctx, w, f); err != nil {
		h.serverError(w, r, "ending a login flow", err)
		return
	}
	if f.row.AuthRequestID != "" {
		err := h.OAuth.DenyAuthorization(ctx, w, r, f.row.AuthRequestID, "access_denied", "the user is not a member of the requested organization")
		if err == nil {
			return
		}
		if !errors.Is(err, oauth.ErrAuthRequestNotFound) {
			h.serverError(w, r, "denying an authorization request", err)
			return
		}
	}
	h.message(w, r, http.StatusForbidden, nil, msg{Heading: "You are not a member of this organization",
		Message: "Ask an administrator of the organization to invite you."})
}

// showOrganizations renders the picker for the flow's user.
func (h *Handler) showOrganizations(w http.ResponseWriter, r *http.Request, f *flow, status int, errMsg string) {
	u, err := h.flowUser(r.Context(), f)
	if err != nil {
		h.serverError(w, r, "reading a user", err)
		return
	}
	if u == nil {
		h.expired(w, r, f)
		return
	}
	h.renderOrganizations(w, r, status, f, eligible(u), errMsg)
}

func (h *Handler) flowUser(ctx context.Context, f *flow) (*store.User, error) {
	return h.flowUserByID(ctx, f.d.UserID)
}

// expireInvites marks the invitations of u that are past their expiry
// expired, as Accounts.GetUser presents them, for a user read without it
// (store.ReadPasswordAttempt).
func expireInvites(u *store.User, now time.Time) {
	for _, m := range u.Memberships {
		if m.Status == store.MembershipPendingInvite && !m.ExpiresAt.IsZero() && now.After(m.ExpiresAt) {
			m.Status = store.MembershipInviteExpired
		}
	}
}

// flowUserByID reads a user with memberships; nil when there is none.
func (h *Handler) flowUserByID(ctx context.Context, userID string) (*store.User, error) {
	if userID == "" {
		return nil, nil
	}
	u, err := h.Accounts.GetUser(ctx, accounts.Ref{ID: userID})
	if apiCode(err) == connect.CodeNotFound {
		return nil, nil
	}
	return u, err
}

// organization is POST /login/organization: the picker's choice, checked
// against the user's memberships again.
func (h *Handler) organization(w http.ResponseWriter, r *http.Request, f *flow) {
	if f.d.Step != stepOrganization || f.d.UserID == "" {
		seeOther(w, flowURL(f))
		return
	}
	u, err := h.flowUser(r.Context(), f)
	if err != nil {
		h.serverError(w, r, "reading a user", err)
		return
	}
	if u == nil {
		h.expired(w, r, f)
		return
	}
	orgID := r.PostFormValue("organization_id")
	if !slices.ContainsFunc(eligible(u), func(o orgChoice) bool { return o.ID == orgID }) {
		h.showOrganizations(w, r, f, http.StatusBadRequest, "Choose one of these organizations.")
		return
	}
	h.finish(w, r, f, u, orgID, nil)
}

// signup is POST /login/signup: an unknown email that verified a code
// creates its account and an organization of its own.
func (h *Handler) signup(w http.ResponseWriter, r *http.Request, f *flow) {
	ctx := r.Context()
	if f.d.Step != stepSignup || !f.d.Verified || !h.SignupAllowed {
		seeOther(w, flowURL(f))
		return
	}
	given, family := r.PostFormValue("given_name"), r.PostFormValue("family_name")
	orgName := strings.TrimSpace(r.PostFormValue("organization_name"))
	if orgName == "" {
		h.renderSignup(w, r, http.StatusBadRequest, f, given, family, orgName, "Enter a name for your organization.")
		return
	}
	u, err := h.Accounts.SignUp(ctx, accounts.SignUpFields{Email: f.d.Email, GivenName: given, FamilyName: family, OrgName: orgName})
	if apiCode(err) == connect.CodeAlreadyExists {
		// Someone created the account meanwhile: the email is proven, so
		// this is a sign-in.
		u, err = h.Accounts.UserByEmail(ctx, normEmail(f.d.Email))
	}
	if apiCode(err) == connect.CodeInvalidArgument {
		h.attempt(r, f, metrics.MethodSignup, metrics.OutcomeFailure, "")
		h.renderSignup(w, r, http.StatusBadRequest, f, given, family, orgName, "Check the names: "+err.Error()+".")
		return
	}
	if err != nil {
		h.serverError(w, r, "signing up", err)
		return
	}
	h.attempt(r, f, metrics.MethodSignup, metrics.OutcomeSuccess, u.ID)
	f.d.UserID, f.d.Step = u.ID, stepOrganization
	if err := h.save(ctx, f); err != nil {
		h.serverError(w, r, "saving a login flow", err)
		return
	}
	h.chooseOrganization(w, r, f, u, false, nil)
}

// finish starts the session and completes the authorization request: a
// new session (and cookie) for the user and organization, the browser's
// previous session revoked (S01), the invitation accepted and the email
// verified where that applies, the flow ended, and a 303 to the app.
// logged is the attempt for finishAtOnce to write (see
// authenticatedLogged), or nil.
func (h *Handler) finish(w http.ResponseWriter, r *http.Request, f *flow, u *store.User, orgID string, logged *authlog.Pending) {
	ctx := r.Context()
	old, err := h.Sessions.FromRequest(r)
	if err != nil && !errors.Is(err, sessions.ErrNoSession) {
		h.serverError(w, r, "reading the session", err)
		return
	}
	n := sessions.NewSession{UserID: u.ID, OrgID: orgID, AMR: f.d.AMR, UserAgent: r.UserAgent(), IP: clientIP(r), Cookie: true,
		Policy: h.policyRead(f, u, orgID)}
	if h.finishAtOnce(w, r, f, u, n, old, logged) {
		return
	}
	ses, cookie, err := h.Sessions.Create(ctx, n)
	if err != nil {
		h.serverError(w, r, "starting a session", err)
		return
	}
	if old != nil {
		if _, err := h.Sessions.Revoke(ctx, old.ID, ReasonReplaced); err != nil {
			h.Log.WarnContext(ctx, "revoking the previous session failed", "session_id", old.ID, "err", err)
		}
	}
	if err := h.recordLogin(ctx, u, orgID, f.d.Verified); err != nil {
		h.serverError(w, r, "recording a sign-in", err)
		return
	}
	h.Log.InfoContext(ctx, "login succeeded", "method", strings.Join(f.d.AMR, " "), "user_id", u.ID,
		"organization_id", orgID, "session_id", ses.ID, "ip", clientIP(r))
	if err := h.end(ctx, w, f); err != nil {
		h.serverError(w, r, "ending a login flow", err)
		return
	}
	sessions.SetCookie(w, cookie, ses)
	if f.row.AuthRequestID != "" {
		err := h.OAuth.CompleteAuthorization(ctx, w, r, f.row.AuthRequestID, ses)
		if err == nil {
			return
		}
		if !errors.Is(err, oauth.ErrAuthRequestNotFound) && !errors.Is(err, oauth.ErrLoginRequired) {
			h.serverError(w, r, "completing an authorization request", err)
			return
		}
		h.message(w, r, http.StatusOK, nil, msg{Heading: "You are signed in",
			Message: "The application's sign-in request has expired. Go back to the application and sign in again; it will not ask for your password."})
		return
	}
	m := msg{Heading: "You are signed in", Message: "You can close this page and go back to the application."}
	if u, err := h.Settings.InitiateLoginURL(ctx); err == nil && u != "" {
		m.Message, m.LinkURL, m.LinkText = "", u, "Continue to the application"
	}
	h.message(w, r, http.StatusOK, nil, m)
}

// finishAtOnce is finish's common case, a sign-in for an authorization
// request with nothing to record on the user but the time, in one write
// (oauth.Server.SignIn): the session and its event, the request completed
// with its code, last_login_at, the flow's end and logged, the sign-in's
// successful attempt; where finish's steps take four transactions and
// read the request, the user and the membership again. It reports
// whether it answered. When the request cannot be completed (gone, or the
// user must sign in again) it has written nothing and reports false:
// finish's steps then sign the user in without a code and say so, as
// they do for every other case. When the write fails otherwise it has
// written nothing either, and reports false too: finish's steps try
// again one by one, and the caller's Flush writes the log on its own, so
// a broken log never stops a sign-in (authlog.Record).
func (h *Handler) finishAtOnce(w http.ResponseWriter, r *http.Request, f *flow, u *store.User, n sessions.NewSession, old *sessions.Session, logged *authlog.Pending) bool {
	ctx := r.Context()
	if f.row.AuthRequestID == "" || needsRecordLogin(u, n.OrgID, f.d.Verified) {
		return false
	}
	ar, err := h.authRequest(ctx, f) // read already by chooseOrganization in this request, when it came from there
	if err != nil {
		return false
	}
	ses, cookie, ev, err := h.Sessions.Prepare(ctx, n)
	if err != nil {
		h.serverError(w, r, "starting a session", err)
		return true
	}
	target, err := h.OAuth.SignIn(ctx, ar, &store.SignIn{Session: ses, Event: ev, FlowID: f.row.ID, Challenges: f.d.CodeSent,
		Attempt: logged.Row()})
	if err != nil {
		if !errors.Is(err, oauth.ErrAuthRequestNotFound) && !errors.Is(err, oauth.ErrLoginRequired) {
			h.Log.WarnContext(ctx, "signing in in one write failed; trying step by step", "err", err)
		}
		return false
	}
	logged.Written()
	if old != nil {
		if _, err := h.Sessions.Revoke(ctx, old.ID, ReasonReplaced); err != nil {
			h.Log.WarnContext(ctx, "revoking the previous session failed", "session_id", old.ID, "err", err)
		}
	}
	h.Log.InfoContext(ctx, "login succeeded", "method", strings.Join(f.d.AMR, " "), "user_id", u.ID,
		"organization_id", n.OrgID, "session_id", ses.ID, "ip", n.IP)
	clearFlowCookie(w)
	sessions.SetCookie(w, cookie, ses)
	oauth.Redirect(w, target)
	return true
}

// policyRead is the session policy of u signing in to orgID as the
// password step read it with the user (store.PasswordAttempt), saving a
// read; nil when it did not, or when the sessions take their policy from
// elsewhere than this handler's settings.
func (h *Handler) policyRead(f *flow, u *store.User, orgID string) *sessions.Policy {
	a := f.attempt
	if a == nil || a.User == nil || a.User.ID != u.ID || h.Settings == nil || h.Sessions.Policies != sessions.PolicySource(h.Settings) {
		return nil
	}
	p := settings.SessionsPolicyOf(a.AppPolicy, a.OrgPolicies[orgID])
	return &p
}

// needsRecordLogin reports whether a sign-in to orgID has something to
// record on u besides the time: an invitation to accept for orgID, or an
// email the sign-in just verified.
func needsRecordLogin(u *store.User, orgID string, verified bool) bool {
	invited := slices.ContainsFunc(u.Memberships, func(m *store.Membership) bool {
		return m.OrgID == orgID && m.Status == store.MembershipPendingInvite
	})
	return invited || (verified && !u.EmailVerified)
}

// recordLogin records the sign-in on the user: Accounts.RecordLogin when
// it has something to change besides the time (needsRecordLogin), else
// one UPDATE of last_login_at, where RecordLogin's transaction reads the
// user again and rewrites every column.
func (h *Handler) recordLogin(ctx context.Context, u *store.User, orgID string, verified bool) error {
	if needsRecordLogin(u, orgID, verified) {
		return h.Accounts.RecordLogin(ctx, u.ID, orgID, verified)
	}
	return h.Store.Q().SetLastLogin(ctx, h.EnvID, u.ID, h.Now())
}

// apiCode is the code of an apierr.Error (0 for other errors and nil).
func apiCode(err error) connect.Code {
	var e *apierr.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// expired answers a flow whose authorization request or user is gone.
func (h *Handler) expired(w http.ResponseWriter, r *http.Request, f *flow) {
	if f != nil {
		if err := h.end(r.Context(), w, f); err != nil {
			h.Log.WarnContext(r.Context(), "ending a login flow failed", "err", err)
		}
	}
	h.message(w, r, http.StatusBadRequest, nil, msg{Heading: "This sign-in has expired",
		Message: "Go back to the application and sign in again."})
}
