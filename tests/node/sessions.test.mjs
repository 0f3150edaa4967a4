// Drives the official Scalekit Node SDK's session client against a live
// Gatehouse server: getSession, getUserSessions, revokeSession and
// revokeAllUserSessions. Sessions come from logins, so the Go test that
// runs this file (tests/nodesdk_test.go) seeds a user with three sessions
// and passes their ids:
//   GATEHOUSE_SEED_USER_ID      usr_... with the sessions
//   GATEHOUSE_SEED_SESSION_IDS  comma-separated ses_... ids (3)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ScalekitClient, ScalekitNotFoundException } from '@scalekit-sdk/node';

const { GATEHOUSE_URL, GATEHOUSE_CLIENT_ID, GATEHOUSE_CLIENT_SECRET, GATEHOUSE_SEED_USER_ID, GATEHOUSE_SEED_SESSION_IDS } = process.env;
for (const [k, v] of Object.entries({ GATEHOUSE_URL, GATEHOUSE_CLIENT_ID, GATEHOUSE_CLIENT_SECRET, GATEHOUSE_SEED_USER_ID, GATEHOUSE_SEED_SESSION_IDS })) {
  if (!v) throw new Error(`sessions.test.mjs: missing environment variable ${k}`);
}
const client = new ScalekitClient(GATEHOUSE_URL, GATEHOUSE_CLIENT_ID, GATEHOUSE_CLIENT_SECRET);
const userId = GATEHOUSE_SEED_USER_ID;
const [first, second, third] = GATEHOUSE_SEED_SESSION_IDS.split(',');

describe('session client against Gatehouse', { concurrency: false }, () => {
  test('getSession returns the session with its user and timeouts', async () => {
    const s = await client.session.getSession(first);
    assert.equal(s.sessionId, first);
    assert.equal(s.userId, userId);
    assert.match(s.organizationId, /^org_/);
    assert.equal(s.status.toLowerCase(), 'active');
    assert.ok(s.idleExpiresAt, 'idle expiry is set');
    assert.ok(s.absoluteExpiresAt, 'absolute expiry is set');
  });

  test('getUserSessions lists all three sessions of the user', async () => {
    const res = await client.session.getUserSessions(userId, { pageSize: 10 });
    const ids = res.sessions.map((s) => s.sessionId).sort();
    assert.deepEqual(ids, [first, second, third].sort());
    assert.equal(res.totalSize, 3);
  });

  test('revokeSession revokes one session and leaves the others', async () => {
    await client.session.revokeSession(first);
    const s = await client.session.getSession(first);
    assert.equal(s.status.toLowerCase(), 'revoked');
    const other = await client.session.getSession(second);
    assert.equal(other.status.toLowerCase(), 'active');
  });

  test('revokeAllUserSessions revokes the remaining live sessions', async () => {
    const res = await client.session.revokeAllUserSessions(userId);
    assert.equal(res.totalRevoked, 2);
    for (const id of [second, third]) {
      const s = await client.session.getSession(id);
      assert.equal(s.status.toLowerCase(), 'revoked');
    }
  });

  test('getSession of an unknown session is NotFound', async () => {
    await assert.rejects(client.session.getSession('ses_00000000000000000000000000'), (err) => {
      assert.ok(err instanceof ScalekitNotFoundException, `got ${err?.constructor?.name}: ${err?.message}`);
      return true;
    });
  });
});
