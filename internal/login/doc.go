// Package login is Gatehouse's hosted login page: the browser-facing half
// of the authorization code flow. The authorization server (package oauth)
// stores an authorization request and sends the browser to
// /login?auth_request=<id>; this package signs the user in, starts a
// session (package sessions) and hands back to oauth.CompleteAuthorization,
// which redirects (303) to the app with the code.
//
// # The flow
//
// Each sign-in in a browser is a login flow: a row in login_flows bound to
// the __Host-gatehouse_login cookie (256 random bits, stored hashed), with
// its step, the email typed in, and a CSRF token. The steps:
//
//	email ──► password ──────────────┐          (the user has a password)
//	   │         ▲ "use a password"   │
//	   └───► code ────────────────────┼──► [signup] ──► [organization] ──► session ──► app
//	         (6-digit code and a      │     unknown      several orgs,
//	          magic link, emailed)    │     email,       or select_account
//	                                  │     if allowed
//	forgot ──► emailed reset link ──► new password ──► back to the password step
//
// Every POST answers with a 303 to GET /login (post/redirect/get), or
// re-renders its form with an error. Pages render the flow's current step,
// so a reload never repeats an action.
//
// # Security
//
//   - CSRF: http.CrossOriginProtection on every POST (Sec-Fetch-Site and
//     Origin), plus the flow's token in every form, compared in constant
//     time, plus the auth_request id the page was rendered for.
//   - Session fixation (S01): the flow cookie is replaced when the user
//     authenticates, and the session cookie (__Host-gatehouse_session) is
//     new at every sign-in; the browser's previous session is revoked.
//   - Enumeration (A02, A03): an unknown email gets the same pages,
//     statuses and redirects as a known one without a password, and a
//     password attempt for it runs a dummy argon2id verification;
//     forgot-password and code requests answer identically whether the
//     account exists; emails are queued in the database and sent by the
//     mail worker, never while the request waits. The one signal left is
//     inherent to an email-first page: an account with a password is shown
//     the password form (docs/login.md).
//   - Throttling (A01, A09): counters in login_throttle, shared by every
//     node: per account and per IP for passwords, per account for codes,
//     per email and per IP for sending mail, with delays that double after
//     a free allowance and a cap per hour; never a permanent lockout.
//   - Codes: 6 digits from crypto/rand, stored as an HMAC under a server
//     key, 10 minutes, 5 tries, bound to the flow, single use; a new code
//     ends the old ones. Magic links: 256-bit tokens stored hashed; GET
//     shows a confirmation page and only POST (from the browser that asked
//     for it) consumes them, so mail scanners cannot burn or use them.
//   - Emailed links use the configured public URL, never Host or
//     X-Forwarded-Host (A11).
//   - Headers: CSP with frame-ancestors 'none' and no inline script,
//     X-Frame-Options DENY, Referrer-Policy no-referrer, Cache-Control
//     no-store, no CORS.
//
// docs/login.md describes all of this for users and operators.
package login
