package login

import (
	"context"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/legacyauth"
	"github.com/gatehouse/gatehouse/internal/passwords"
)

// Lazy migration (docs/lazy-migration.md): when the environment names a
// legacy verification endpoint, a password typed for a user Gatehouse
// holds no password for (or, if allowed, for an unknown email) is checked
// by that endpoint, and kept as argon2id when it answers yes.

// legacyEndpoint returns the environment's legacy endpoint; nil when lazy
// migration is off. Settings that cannot be read are logged and count as
// off, so that users with a password can still sign in.
func (h *Handler) legacyEndpoint(ctx context.Context) *legacyauth.Endpoint {
	if h.Legacy == nil {
		return nil
	}
	ep, err := h.Legacy.Endpoint(ctx)
	if err != nil {
		h.Log.ErrorContext(ctx, "lazy migration is off: its settings cannot be used", "err", err)
		return nil
	}
	return ep
}

// lazyCandidate reports whether a password login of userID ("" for an
// unknown email) that has no stored password goes to the legacy endpoint.
func lazyCandidate(ep *legacyauth.Endpoint, userID string) bool {
	return ep != nil && (userID != "" || ep.CreateUnknownUsers)
}

// offersLegacyPassword reports whether a user without a password (or an
// unknown email) signs in with a password the legacy endpoint can check:
// the email step then emails them no code unasked, as for a user with a
// password.
func (h *Handler) offersLegacyPassword(r *http.Request, userID string) bool {
	return lazyCandidate(h.legacyEndpoint(r.Context()), userID)
}

// verifyLegacy asks the endpoint about pw and, when it says yes, stores pw
// as argon2id (creating the user for an unknown email) and marks the user
// lazily migrated. It returns the user's id, or "" when the password was
// not verified; err is for a failure to store what was verified. A refusal
// runs a dummy verification, so that it costs what a success does.
func (h *Handler) verifyLegacy(ctx context.Context, ep *legacyauth.Endpoint, userID, email, pw string) (string, error) {
	if pw == "" || len(pw) > passwords.MaxPasswordLength {
		h.Hashing.DummyVerify(ctx, pw)
		return "", nil
	}
	p, ok := h.Legacy.Verify(ctx, ep, email, pw)
	if !ok {
		h.Hashing.DummyVerify(ctx, pw)
		return "", nil
	}
	hash, err := h.Hashing.Hash(ctx, pw)
	if err != nil {
		return "", err
	}
	return h.Accounts.MigrateLazily(ctx, userID, accounts.LazyFields{Email: email, GivenName: p.FirstName,
		FamilyName: p.LastName, EmailVerified: p.EmailVerified}, hash)
}
