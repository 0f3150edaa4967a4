package login

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/legacyauth"
	"github.com/gatehouse/gatehouse/internal/metrics"
	"github.com/gatehouse/gatehouse/internal/passwords"
)

// Password policy (NIST SP 800-63B section 5.1.1, ASVS 6.2): at least
// MinPasswordLength characters, at most passwords.MaxPasswordLength bytes,
// no composition rules, any Unicode, spaces included, compared byte for
// byte (no trimming, folding or normalization), not one of the most
// common passwords, and, when --breached-passwords-url is set, not one
// found in a data breach (breached.go).
const MinPasswordLength = 8

// commonPasswordsText is the list of common passwords the policy refuses
// (source, selection and licence in the file's header): embedded, so the
// list is part of the build and a server needs no file or network for it.
//
//go:embed common-passwords.txt
var commonPasswordsText string

// PasswordPolicy checks new passwords against the policy. Build it once
// with NewPasswordPolicy; it is read-only afterwards and safe for
// concurrent use.
type PasswordPolicy struct {
	common map[string]struct{} // lower case
}

// NewPasswordPolicy builds the policy, with the common-password set read
// from the embedded list once, so a check is one map lookup.
func NewPasswordPolicy() *PasswordPolicy {
	common := make(map[string]struct{}, 16<<10)
	for line := range strings.Lines(commonPasswordsText) {
		if w := strings.TrimSpace(line); w != "" && !strings.HasPrefix(w, "#") {
			common[strings.ToLower(w)] = struct{}{}
		}
	}
	return &PasswordPolicy{common: common}
}

// IsCommon reports whether pw is on the common-password list, whatever its
// case: "PassWord1" is tried by attackers as early as "password1".
func (p *PasswordPolicy) IsCommon(pw string) bool {
	_, ok := p.common[strings.ToLower(pw)]
	return ok
}

// Check applies the rules that need no network; the error is a sentence
// for the user. The breached-password check, when configured, comes on
// top (Handler.checkNewPassword).
func (p *PasswordPolicy) Check(pw, email string) error {
	switch {
	case utf8.RuneCountInString(pw) < MinPasswordLength:
		return errors.New("Use at least 8 characters. A few words together make a strong password that is easy to remember.")
	case len(pw) > passwords.MaxPasswordLength:
		return errors.New("Use at most 1,024 bytes (about 250 characters or more).")
	case !utf8.ValidString(pw):
		return errors.New("The password contains characters that cannot be read. Please type it again.")
	case p.IsCommon(pw):
		return errors.New("This password is one of the most common ones, which attackers try first. Choose another.")
	case strings.EqualFold(strings.TrimSpace(pw), strings.TrimSpace(email)):
		return errors.New("Do not use your email address as your password.")
	}
	return nil
}

// passwordChecks are the two throttles a password attempt for emailNorm
// from ip is checked against and counts towards when it fails.
func (h *Handler) passwordChecks(emailNorm, ip string) (acct, perIP check) {
	return check{passwordBucket(emailNorm), h.Limits.PasswordPerAccount}, check{failIPBucket(ip), h.Limits.FailuresPerIP}
}

// password is POST /login/password. Known and unknown emails, and users
// without a password, go through the same steps: throttling, one argon2id
// verification (a dummy one when there is no hash), the same counters and
// the same answer on failure (SECURITY-BAR A01, A02, A03). With lazy
// migration on, a user without a password (or, if allowed, an unknown
// email) is checked by the legacy endpoint instead (lazy.go); its refusal,
// failure or timeout is a failure like any other, and failures that did
// not ask it wait as long as asking it takes.
func (h *Handler) password(w http.ResponseWriter, r *http.Request, f *flow) {
	ctx := r.Context()
	if f.d.Step != stepPassword {
		seeOther(w, flowURL(f))
		return
	}
	pw := r.PostFormValue("password")
	norm, ip := normEmail(f.d.Email), clientIP(r)
	acct, perIP := h.passwordChecks(norm, ip)
	// One statement reads the user with memberships, both counters and the
	// session policies (waitAny, LoginLookup, GetUser and
	// GetSessionPolicies would take seven), for known and unknown emails
	// alike; it came with the flow when the form named this email.
	if f.attempt == nil || f.attemptFor != norm {
		read, err := h.Store.Q().ReadPasswordAttempt(ctx, h.EnvID, norm, acct.bucket, perIP.bucket)
		if err != nil {
			h.serverError(w, r, "reading a throttle", err)
			return
		}
		f.attempt, f.attemptFor = &read, norm
	}
	read, now := f.attempt, h.Now()
	if wait := max(waitFor(read.Account, acct.rule, now), waitFor(read.IP, perIP.rule, now)); wait > 0 {
		h.Log.InfoContext(ctx, "login throttled", "method", "password", "ip", ip)
		h.attempt(r, f, metrics.MethodPassword, metrics.OutcomeThrottled, "")
		h.renderPassword(w, r, http.StatusTooManyRequests, f, "Too many attempts. Wait "+waitText(wait)+
			" before trying again, or ask for a code by email instead.")
		return
	}
	userID, encoded := "", read.Hash
	if read.User != nil {
		userID = read.User.ID
	}
	ok, rehash, lazy := false, false, false
	var err error
	var ep *legacyauth.Endpoint
	if encoded == "" {
		ep = h.legacyEndpoint(ctx)
	}
	switch {
	case encoded != "":
		ok, rehash, err = h.Hashing.Verify(ctx, encoded, pw)
		if err != nil && !errors.Is(err, passwords.ErrPasswordTooLong) {
			h.Log.WarnContext(ctx, "a stored password hash cannot be used", "user_id", userID, "err", err)
		}
	case lazyCandidate(ep, userID):
		// Lazy migration: the legacy endpoint checks the password.
		lazy = true
		migrated, err := h.verifyLegacy(ctx, ep, userID, f.d.Email, pw)
		if err != nil {
			h.serverError(w, r, "storing a lazily migrated password", err)
			return
		}
		ok, userID = migrated != "", cmp.Or(migrated, userID)
	default:
		h.Hashing.DummyVerify(ctx, pw)
	}
	if ctx.Err() != nil {
		return // the browser left while the password waited for a hashing slot
	}
	if !ok {
		if encoded != "" {
			ep = h.legacyEndpoint(ctx)
		}
		if ep != nil && !lazy {
			// As long as asking the legacy endpoint would have taken.
			h.Legacy.Pad(ctx)
		}
		if err := h.hit(ctx, acct, perIP); err != nil {
			h.serverError(w, r, "counting a failed attempt", err)
			return
		}
		h.Log.InfoContext(ctx, "login failed", "method", "password", "ip", ip)
		h.attempt(r, f, metrics.MethodPassword, metrics.OutcomeFailure, userID)
		h.renderPassword(w, r, http.StatusBadRequest, f, "Incorrect email or password.")
		return
	}
	// The success goes into the log with the sign-in's transaction when
	// finishAtOnce takes it, else on its own when this request ends (a
	// browser gone meanwhile does not lose it).
	logged := h.deferAttempt(r, f, metrics.MethodPassword, metrics.OutcomeSuccess, userID)
	defer logged.Flush(context.WithoutCancel(ctx))
	if rehash {
		// A legacy or outdated hash that just verified: store argon2id.
		if nh, err := h.Hashing.Hash(ctx, pw); err == nil {
			if err := h.Accounts.RehashPassword(ctx, userID, nh); err != nil {
				h.Log.WarnContext(ctx, "rehashing a password failed", "user_id", userID, "err", err)
			}
		}
	}
	// The user as read before the verification; one that lazy migration
	// has just created is read now.
	u := read.User
	if u == nil || u.ID != userID {
		if u, err = h.flowUserByID(ctx, userID); err != nil || u == nil {
			h.serverError(w, r, "reading a user", fmt.Errorf("user %s: %w", userID, err))
			return
		}
	} else {
		expireInvites(u, h.Now())
	}
	// A counter with no hits has nothing to reset: most sign-ins skip
	// the write. (A failure counted meanwhile stays counted, which only
	// ever throttles more.)
	if read.Account.Hits > 0 {
		if err := h.clear(ctx, acct.bucket); err != nil {
			h.serverError(w, r, "resetting a throttle", err)
			return
		}
	}
	h.authenticatedLogged(w, r, f, u, "pwd", false, logged)
}
