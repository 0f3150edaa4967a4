// openid-client (npm, by panva; a certified OpenID Connect relying party
// library) against Gatehouse: discovery, the authorization-code flow with
// PKCE S256, state and nonce (the library checks the RFC 9207 iss parameter,
// the ID token's signature against /keys, its iss, aud, nonce and at_hash),
// refresh, userinfo, and introspection and revocation as a bonus. The login
// page is driven over HTTP with the code from the dev outbox.
//
// The Go test that runs this file (tests/nodesdk_test.go) seeds a user in a
// single organization (no picker):
//   GATEHOUSE_SEED_OIDC_EMAIL   the user's email
//   GATEHOUSE_SEED_OIDC_ORG_ID  their organization
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { signInWithCode, managementToken, registerRedirects, claims } from './helpers/hosted_login.mjs';

const { GATEHOUSE_URL, GATEHOUSE_CLIENT_ID, GATEHOUSE_CLIENT_SECRET, GATEHOUSE_SEED_OIDC_EMAIL, GATEHOUSE_SEED_OIDC_ORG_ID } = process.env;
for (const [k, v] of Object.entries({ GATEHOUSE_URL, GATEHOUSE_CLIENT_ID, GATEHOUSE_CLIENT_SECRET, GATEHOUSE_SEED_OIDC_EMAIL, GATEHOUSE_SEED_OIDC_ORG_ID })) {
  if (!v) throw new Error(`openid_client.test.mjs: missing environment variable ${k}`);
}
const base = GATEHOUSE_URL.replace(/\/$/, '');
const redirectUri = 'http://127.0.0.1:5180/oidc/callback';
const email = GATEHOUSE_SEED_OIDC_EMAIL;

describe('openid-client: discovery, code flow with PKCE, refresh, userinfo', { concurrency: false }, () => {
  let config, tokens, idClaims, refreshed;

  before(async () => {
    const token = await managementToken(base, GATEHOUSE_CLIENT_ID, GATEHOUSE_CLIENT_SECRET);
    await registerRedirects(base, token, { callbackUrls: [redirectUri] });
  });

  test('discovery reads /.well-known/openid-configuration', async () => {
    // http is only for this loopback test server.
    config = await oidc.discovery(new URL(base), GATEHOUSE_CLIENT_ID, GATEHOUSE_CLIENT_SECRET, undefined,
      { execute: [oidc.allowInsecureRequests] });
    const m = config.serverMetadata();
    assert.equal(m.issuer, base);
    assert.equal(m.authorization_endpoint, `${base}/oauth/authorize`);
    assert.equal(m.token_endpoint, `${base}/oauth/token`);
    assert.equal(m.jwks_uri, `${base}/keys`);
    assert.ok(m.userinfo_endpoint, 'userinfo_endpoint');
    assert.deepEqual(m.code_challenge_methods_supported, ['S256']);
    assert.ok(m.response_types_supported.includes('code'));
    assert.equal(m.authorization_response_iss_parameter_supported, true);
  });

  test('authorization-code flow with PKCE through the hosted login', async () => {
    const verifier = oidc.randomPKCECodeVerifier();
    const challenge = await oidc.calculatePKCECodeChallenge(verifier);
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri, scope: 'openid profile email offline_access',
      code_challenge: challenge, code_challenge_method: 'S256', state, nonce,
    });
    const login = await signInWithCode({ base, authorizationUrl: url.href, email });
    assert.deepEqual(login.pages.length, 2, `email and code pages only (one organization), saw ${JSON.stringify(login.pages)}`);
    tokens = await oidc.authorizationCodeGrant(config, login.callback, {
      pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
    });
    idClaims = tokens.claims();
    assert.match(idClaims.sub, /^usr_/);
    assert.equal(idClaims.email, email);
    assert.equal(idClaims.email_verified, true);
    assert.equal(idClaims.oid, GATEHOUSE_SEED_OIDC_ORG_ID);
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.match(tokens.refresh_token, /^rt_/);
    assert.ok(tokens.expiresIn() > 0);
  });

  test('a wrong PKCE verifier is refused', async () => {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri, scope: 'openid email',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state,
    });
    // Single sign-on would need the first browser; a fresh sign-in is fine too.
    const login = await signInWithCode({ base, authorizationUrl: url.href, email });
    await assert.rejects(
      oidc.authorizationCodeGrant(config, login.callback, { pkceCodeVerifier: oidc.randomPKCECodeVerifier(), expectedState: state }),
      (err) => { assert.equal(err.error ?? err.cause?.error, 'invalid_grant', String(err)); return true; },
    );
  });

  test('refreshTokenGrant rotates the refresh token', async () => {
    refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
    assert.match(refreshed.refresh_token, /^rt_/);
    assert.notEqual(refreshed.access_token, tokens.access_token);
    assert.equal(claims(refreshed.access_token).sub, idClaims.sub);
    if (refreshed.id_token) {
      const c = refreshed.claims();
      assert.equal(c.sub, idClaims.sub);
      assert.equal(c.auth_time, idClaims.auth_time);
    }
  });

  test('fetchUserInfo returns the user\'s claims for the refreshed access token', async () => {
    const info = await oidc.fetchUserInfo(config, refreshed.access_token, idClaims.sub);
    assert.equal(info.sub, idClaims.sub);
    assert.equal(info.email, email);
    assert.equal(info.oid, GATEHOUSE_SEED_OIDC_ORG_ID);
  });

  test('introspection and revocation', async () => {
    const active = await oidc.tokenIntrospection(config, refreshed.access_token);
    assert.equal(active.active, true);
    assert.equal(active.sub, idClaims.sub);
    await oidc.tokenRevocation(config, refreshed.refresh_token, { token_type_hint: 'refresh_token' });
    await assert.rejects(oidc.refreshTokenGrant(config, refreshed.refresh_token),
      (err) => { assert.equal(err.error ?? err.cause?.error, 'invalid_grant', String(err)); return true; });
    const after = await oidc.tokenIntrospection(config, refreshed.access_token);
    assert.deepEqual(after.active, false, 'revoking the family revokes its access tokens');
  });
});
