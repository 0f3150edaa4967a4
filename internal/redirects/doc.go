// Package redirects is the one place redirect URLs are judged: whether a URL
// may be registered (Validate), and whether a URL a client sends to
// /oauth/authorize or /oidc/logout is one that was registered (Match). Both
// use the same parsing and the same rules, so a URL is never accepted at
// registration under rules that matching reads differently.
//
// The rules are Scalekit's (SCALEKIT-COMPAT section 5), per environment type:
//
//	rule          development                      production
//	schemes       http, https, an app's own scheme  https, an app's own scheme
//	localhost     allowed                          refused
//	wildcard *    allowed (see below)              refused
//	length        at most 256 characters           at most 256 characters
//	query         refused                          refused
//	fragment      refused                          refused
//
// A wildcard stands for (part of) one DNS label: never the registrable
// domain or above it (https://*.com, https://*.co.uk, https://*.vercel.app),
// at most one per URL, only in the host, and only in the label farthest
// from the registrable domain (https://*.auth.example.com, not
// https://auth.*.example.com). The public suffix list decides where the
// registrable domain starts.
//
// Matching is byte-exact string comparison, with two exceptions: the one
// wildcard matches one or more of a-z, 0-9 and '-' (never a dot, so never
// another label), and a registered loopback IP URL (http://127.0.0.1/cb,
// http://[::1]/cb) matches any port, as RFC 8252 section 7.3 asks for native
// apps. A registered URL counts only while it passes the rules of the
// environment's current type: a development-time http://localhost callback
// stops matching when the environment becomes production.
package redirects
