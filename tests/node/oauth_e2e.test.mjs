// The official Scalekit Node SDK, end to end through the hosted login:
// getAuthorizationUrl, then this suite drives the login page over HTTP as a
// browser would (cookies, the forms' CSRF and flow fields, the 6-digit code
// from the dev outbox, the organization picker), reads the code from the
// 303 to the app's redirect_uri, and goes on with authenticateWithCode,
// validateAccessToken, refreshAccessToken, the session calls, getLogoutUrl
// and the logout request itself.
//
// The Go test that runs this file (tests/nodesdk_test.go) seeds a user who
// belongs to two organizations (so the picker is shown):
//   GATEHOUSE_SEED_LOGIN_EMAIL   the user's email
//   GATEHOUSE_SEED_LOGIN_ORG_ID  the organization to pick (org_...)
// The callback and post-logout URLs are registered here, through the
// settings REST API, with a management token of the same client.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { ScalekitClient } from '@scalekit-sdk/node';
import { Browser, signInWithCode, managementToken, registerRedirects, claims } from './helpers/hosted_login.mjs';

const { GATEHOUSE_URL, GATEHOUSE_CLIENT_ID, GATEHOUSE_CLIENT_SECRET, GATEHOUSE_SEED_LOGIN_EMAIL, GATEHOUSE_SEED_LOGIN_ORG_ID } = process.env;
for (const [k, v] of Object.entries({ GATEHOUSE_URL, GATEHOUSE_CLIENT_ID, GATEHOUSE_CLIENT_SECRET, GATEHOUSE_SEED_LOGIN_EMAIL, GATEHOUSE_SEED_LOGIN_ORG_ID })) {
  if (!v) throw new Error(`oauth_e2e.test.mjs: missing environment variable ${k}`);
}
const base = GATEHOUSE_URL.replace(/\/$/, '');
const client = new ScalekitClient(base, GATEHOUSE_CLIENT_ID, GATEHOUSE_CLIENT_SECRET);
// A loopback app (development environment); nothing needs to listen there:
// the suite reads the code from the Location header.
const redirectUri = 'http://127.0.0.1:5179/sdk/callback';
const postLogoutUri = 'http://127.0.0.1:5179/sdk/signed-out';
const email = GATEHOUSE_SEED_LOGIN_EMAIL;
const orgId = GATEHOUSE_SEED_LOGIN_ORG_ID;

const b64url = (buf) => Buffer.from(buf).toString('base64url');
// Changes one character in the middle of a base64url segment, so the
// decoded bytes really differ (the last character may carry unused bits).
const flip = (seg) => {
  const i = Math.floor(seg.length / 2);
  return seg.slice(0, i) + (seg[i] === 'A' ? 'B' : 'A') + seg.slice(i + 1);
};

describe('Node SDK: hosted login, tokens, sessions and logout', { concurrency: false }, () => {
  const state = b64url(randomBytes(16));
  const nonce = b64url(randomBytes(16));
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  let authUrl, login, auth, at, refreshed, browser;

  before(async () => {
    const token = await managementToken(base, GATEHOUSE_CLIENT_ID, GATEHOUSE_CLIENT_SECRET);
    const r = await registerRedirects(base, token, { callbackUrls: [redirectUri], postLogoutUrls: [postLogoutUri] });
    assert.ok((r.callback_urls ?? r.callbackUrls).includes(redirectUri), JSON.stringify(r));
  });

  test('getAuthorizationUrl points at /oauth/authorize with the request', () => {
    authUrl = client.getAuthorizationUrl(redirectUri, {
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      state, nonce, codeChallenge: challenge, codeChallengeMethod: 'S256',
    });
    const u = new URL(authUrl);
    assert.equal(u.origin + u.pathname, `${base}/oauth/authorize`);
    assert.equal(u.searchParams.get('client_id'), GATEHOUSE_CLIENT_ID);
    assert.equal(u.searchParams.get('redirect_uri'), redirectUri);
    assert.equal(u.searchParams.get('response_type'), 'code');
    assert.equal(u.searchParams.get('scope'), 'openid profile email offline_access');
  });

  test('the hosted login (email, emailed code, organization picker) returns a code to the redirect_uri', async () => {
    login = await signInWithCode({ base, authorizationUrl: authUrl, email, organizationId: orgId });
    browser = login.browser;
    const cb = login.callback;
    assert.equal(cb.origin + cb.pathname, redirectUri);
    assert.equal(cb.searchParams.get('state'), state);
    assert.equal(cb.searchParams.get('iss'), base, 'RFC 9207 iss on the authorization response');
    assert.match(cb.searchParams.get('code') ?? '', /.{16,}/);
    assert.ok(login.pages.length === 3, `email, code and organization pages, saw ${JSON.stringify(login.pages)}`);
    assert.ok(browser.jar.get('__Host-gatehouse_session'), 'the browser holds a session cookie');
  });

  test('authenticateWithCode exchanges the code (with the PKCE verifier) for tokens and the user', async () => {
    auth = await client.authenticateWithCode(login.callback.searchParams.get('code'), redirectUri, { codeVerifier: verifier });
    assert.equal(auth.user.email, email);
    assert.match(auth.user.id, /^usr_/);
    assert.ok(auth.idToken && auth.accessToken, 'ID and access tokens');
    assert.match(auth.refreshToken ?? '', /^rt_/);
    assert.ok(auth.expiresIn > 0);
    const id = claims(auth.idToken);
    assert.equal(id.nonce, nonce);
    assert.equal(id.iss, base);
    assert.equal(id.oid, orgId);
    at = claims(auth.accessToken);
    assert.equal(at.sub, auth.user.id);
    assert.equal(at.oid, orgId);
    assert.match(at.sid, /^ses_/);
    assert.deepEqual(at.aud, [GATEHOUSE_CLIENT_ID]);
    assert.ok(Array.isArray(at.roles), 'roles claim');
  });

  test('validateAccessToken: true for the token, false when tampered with', async () => {
    assert.equal(await client.validateAccessToken(auth.accessToken), true);
    assert.equal(await client.validateAccessToken(auth.accessToken, { issuer: base, audience: GATEHOUSE_CLIENT_ID }), true);
    const [h, p, s] = auth.accessToken.split('.');
    const forgedPayload = b64url(JSON.stringify({ ...claims(auth.accessToken), roles: ['admin', 'owner'] }));
    assert.equal(await client.validateAccessToken(`${h}.${forgedPayload}.${s}`), false, 'altered claims');
    assert.equal(await client.validateAccessToken(`${h}.${p}.${flip(s)}`), false, 'altered signature');
    assert.equal(await client.validateAccessToken(`${h}.${p}.`), false, 'no signature');
    assert.equal(await client.validateAccessToken(auth.accessToken, { issuer: 'https://other.example' }), false, 'wrong issuer');
  });

  test('refreshAccessToken rotates the refresh token and issues a valid access token', async () => {
    refreshed = await client.refreshAccessToken(auth.refreshToken);
    assert.match(refreshed.refreshToken, /^rt_/);
    assert.notEqual(refreshed.refreshToken, auth.refreshToken);
    assert.notEqual(refreshed.accessToken, auth.accessToken);
    assert.equal(await client.validateAccessToken(refreshed.accessToken), true);
    const c = claims(refreshed.accessToken);
    assert.equal(c.sub, at.sub);
    assert.equal(c.sid, at.sid);
    assert.equal(c.oid, orgId);
  });

  test('session calls see the login\'s session', async () => {
    const s = await client.session.getSession(at.sid);
    assert.equal(s.sessionId, at.sid);
    assert.equal(s.userId, at.sub);
    assert.equal(s.organizationId, orgId);
    assert.equal(s.status.toLowerCase(), 'active');
    const list = await client.session.getUserSessions(at.sub, { pageSize: 10 });
    assert.ok(list.sessions.some((x) => x.sessionId === at.sid), 'getUserSessions lists it');
  });

  test('getLogoutUrl and the logout request end the session and redirect with state', async () => {
    const logoutState = b64url(randomBytes(8));
    const url = client.getLogoutUrl({ idTokenHint: auth.idToken, postLogoutRedirectUri: postLogoutUri, state: logoutState });
    const u = new URL(url);
    assert.equal(u.origin + u.pathname, `${base}/oidc/logout`);
    assert.equal(u.searchParams.get('id_token_hint'), auth.idToken);

    const p = await browser.get(url);
    assert.equal(p.status, 303, p.describe());
    const to = new URL(p.location);
    assert.equal(to.origin + to.pathname, postLogoutUri);
    assert.equal(to.searchParams.get('state'), logoutState);
    assert.equal(browser.jar.get('__Host-gatehouse_session'), undefined, 'the session cookie is cleared');

    const s = await client.session.getSession(at.sid);
    assert.notEqual(s.status.toLowerCase(), 'active', `session status after logout: ${s.status}`);
    await assert.rejects(client.refreshAccessToken(refreshed.refreshToken), 'refresh after logout fails');
  });

  test('after logout the app\'s authorization URL leads to the login page again', async () => {
    const p = await browser.follow(await browser.get(client.getAuthorizationUrl(redirectUri, { state: 'again' })));
    assert.ok(p.has('/login/email'), p.describe());
  });

  test('a logout URL with an unregistered post_logout_redirect_uri redirects nowhere', async () => {
    const b = new Browser(base);
    const p = await b.get(client.getLogoutUrl({ idTokenHint: auth.idToken, postLogoutRedirectUri: 'https://evil.example/x', state: 's' }));
    assert.ok(p.status >= 400 && !p.location, p.describe());
  });

  // Last: presenting a redeemed code again also revokes what it produced.
  test('the code is single-use', async () => {
    await assert.rejects(client.authenticateWithCode(login.callback.searchParams.get('code'), redirectUri, { codeVerifier: verifier }));
  });
});
