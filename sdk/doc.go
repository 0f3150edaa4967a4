// Package sdk is Gatehouse's Go SDK: typed access to the management API,
// the OAuth 2.0 / OpenID Connect helpers an app needs to sign users in,
// local validation of access tokens against the environment's JWKS, and
// verification of webhook payloads.
//
// A Client is made once, from the same three values Scalekit's SDKs take
// (the environment URL, the API client's id and secret), and shared by the
// whole program; it is safe for concurrent use.
//
//	c, err := sdk.New(os.Getenv("GATEHOUSE_ENVIRONMENT_URL"),
//		os.Getenv("GATEHOUSE_CLIENT_ID"), os.Getenv("GATEHOUSE_CLIENT_SECRET"))
//
// # Management API
//
// Organizations, Users, Memberships, Roles, Permissions, Sessions and
// Settings return the generated connect clients of the services Gatehouse
// serves (gen/scalekit/v1/... and gen/gatehouse/v1/...). Calls go over
// gRPC, in cleartext HTTP/2 (h2c) for http:// environment URLs and over TLS
// for https:// ones, and carry a management token from the
// client-credentials grant. The token is fetched on first use, shared by
// all calls, and renewed before it expires by a single request however
// many calls need it at once; a call the server refuses as unauthenticated
// is retried once with a fresh token.
//
// # Signing users in
//
// AuthorizationURL builds the /oauth/authorize URL (with every option
// Scalekit's Node SDK getAuthorizationUrl has); AuthenticateWithCode
// redeems the code (with the PKCE verifier); RefreshToken rotates a
// refresh token; ExchangeToken trades a legacy system's token for
// Gatehouse tokens (RFC 8693); LogoutURL builds the /oidc/logout URL.
// Package sdk/middleware builds cookie sessions, route protection and the
// cut-over from a legacy system on top of these.
//
// # Validating access tokens
//
// ValidateAccessToken checks a user access token locally: RS256 only (the
// algorithm is never taken from the token, so alg=none and HMAC tokens
// keyed with the public key are refused), a key from the environment's
// JWKS, typ at+jwt (so ID tokens are refused), the environment URL as
// issuer, the client id (or WithAudience) in aud, and exp, nbf and iat
// with at most WithLeeway of clock skew. The JWKS is cached; a token
// signed with a key id the cache does not know triggers at most one
// re-fetch per WithJWKSRefreshInterval.
//
// # Webhooks
//
// VerifyWebhookPayload checks a webhook delivery as Standard Webhooks
// defines it and as Scalekit's SDKs do: an HMAC-SHA256 keyed with the
// whsec_ secret over "{webhook-id}.{webhook-timestamp}.{body}", in v1
// entries of webhook-signature, compared in constant time, with the
// timestamp at most five minutes away from now.
package sdk
