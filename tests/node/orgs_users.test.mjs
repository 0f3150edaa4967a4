// Drives the official Scalekit Node SDK (@scalekit-sdk/node, pinned in
// package.json) against a live Gatehouse server and checks that the
// organization / user / membership management API is wire-compatible.
//
// Required environment:
//   GATEHOUSE_URL            environment URL, e.g. http://127.0.0.1:8080
//   GATEHOUSE_CLIENT_ID      management API client id
//   GATEHOUSE_CLIENT_SECRET  management API client secret
//
// Every external_id and email carries a unique suffix, so the suite can be
// run repeatedly against the same server.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  ScalekitClient,
  ScalekitServerException,
  ScalekitNotFoundException,
  ScalekitConflictException,
} from '@scalekit-sdk/node';
// Not re-exported from the package root; this is the SDK's generated enum
// for scalekit.v1.commons.MembershipStatus.
import { MembershipStatus } from '@scalekit-sdk/node/lib/pkg/grpc/scalekit/v1/commons/commons_pb.js';

// ---------------------------------------------------------------------------
// Environment

const REQUIRED_ENV = ['GATEHOUSE_URL', 'GATEHOUSE_CLIENT_ID', 'GATEHOUSE_CLIENT_SECRET'];
const missingEnv = REQUIRED_ENV.filter((name) => !process.env[name]);
if (missingEnv.length > 0) {
  throw new Error(
    `orgs_users.test.mjs: missing required environment variable(s): ${missingEnv.join(', ')}. ` +
      'Set GATEHOUSE_URL (e.g. http://127.0.0.1:8080), GATEHOUSE_CLIENT_ID and GATEHOUSE_CLIENT_SECRET.',
  );
}
const GATEHOUSE_URL = process.env.GATEHOUSE_URL;

const client = new ScalekitClient(
  GATEHOUSE_URL,
  process.env.GATEHOUSE_CLIENT_ID,
  process.env.GATEHOUSE_CLIENT_SECRET,
);

// ---------------------------------------------------------------------------
// Constants and helpers

// gRPC status codes (google.rpc.Code / connect-es Code).
const GRPC_NOT_FOUND = 5;
const GRPC_ALREADY_EXISTS = 6;

// scalekit.v1.commons.MembershipStatus
const ACTIVE = 1;
const PENDING_INVITE = 3;

let counter = 0;
/** A suffix unique across runs and within this run. */
function unique() {
  counter += 1;
  return `${Date.now()}-${Math.random().toString(36).slice(2, 10)}-${counter}`;
}
const uniqueEmail = (tag) => `node-sdk-${tag}-${unique()}@example.com`.toLowerCase();

// Best-effort cleanup registry (server state is otherwise left behind).
const createdOrgIds = new Set();
const createdUserIds = new Set();

async function createOrg(tag, extra = {}) {
  const displayName = `Node SDK ${tag} ${unique()}`;
  const externalId = `node-sdk-org-${tag}-${unique()}`;
  const res = await client.organization.createOrganization(displayName, { externalId, ...extra });
  assert.ok(res.organization, 'createOrganization response has no organization');
  createdOrgIds.add(res.organization.id);
  return { org: res.organization, displayName, externalId };
}

async function createUser(orgId, tag, options = {}) {
  const email = uniqueEmail(tag);
  const res = await client.user.createUserAndMembership(orgId, {
    email,
    externalId: `node-sdk-usr-${tag}-${unique()}`,
    sendInvitationEmail: false,
    ...options,
  });
  assert.ok(res.user, 'createUserAndMembership response has no user');
  createdUserIds.add(res.user.id);
  return { user: res.user, email };
}

function membershipFor(user, orgId) {
  return (user.memberships ?? []).find((m) => m.organizationId === orgId);
}

function roleNames(membership) {
  return (membership?.roles ?? []).map((r) => r.name).sort();
}

function describeError(err) {
  if (err instanceof ScalekitServerException) {
    return `${err.name} grpcStatus=${err.grpcStatus} httpStatus=${err.httpStatus} message=${err.message}`;
  }
  return `${err?.name ?? typeof err}: ${err?.message ?? String(err)}`;
}

/**
 * Asserts that `promise` rejects with the SDK's server exception carrying the
 * given gRPC code and mapped HTTP status (and, optionally, the specific class).
 */
async function assertRejectsWith(promise, { grpcStatus, httpStatus, cls }) {
  await assert.rejects(promise, (err) => {
    assert.ok(
      err instanceof ScalekitServerException,
      `expected ScalekitServerException(grpc ${grpcStatus}), got ${describeError(err)}`,
    );
    assert.equal(err.grpcStatus, grpcStatus, `wrong gRPC code: ${describeError(err)}`);
    assert.equal(err.httpStatus, httpStatus, `wrong HTTP status: ${describeError(err)}`);
    if (cls) {
      assert.ok(err instanceof cls, `expected ${cls.name}, got ${describeError(err)}`);
    }
    return true;
  });
}

const assertNotFound = (promise) =>
  assertRejectsWith(promise, {
    grpcStatus: GRPC_NOT_FOUND,
    httpStatus: 404,
    cls: ScalekitNotFoundException,
  });

const assertAlreadyExists = (promise) =>
  assertRejectsWith(promise, {
    grpcStatus: GRPC_ALREADY_EXISTS,
    httpStatus: 409,
    cls: ScalekitConflictException,
  });

/** Follows nextPageToken until exhausted; returns the pages. */
async function collectPages(fetchPage, { maxPages = 10_000 } = {}) {
  const pages = [];
  let pageToken;
  for (let i = 0; i < maxPages; i++) {
    const page = await fetchPage(pageToken);
    pages.push(page);
    if (!page.nextPageToken) return pages;
    assert.notEqual(page.nextPageToken, pageToken, 'nextPageToken did not advance');
    pageToken = page.nextPageToken;
  }
  assert.fail(`pagination did not terminate after ${maxPages} pages`);
}

// Setup failures are recorded and re-thrown by every test, so that an
// unreachable server shows up as failed tests (not cancelled ones).
let preflightError;

/** Registers a before() hook for the enclosing describe; errors are deferred to its tests. */
function suiteSetup(fn) {
  const state = { error: undefined };
  before(async () => {
    if (preflightError) return;
    try {
      await fn();
    } catch (err) {
      state.error = new Error(`suite setup failed: ${describeError(err)}`, { cause: err });
    }
  });
  return state;
}

/** test() that first re-throws any preflight / suite setup error. */
function sdkTest(name, fn, setup) {
  test(name, async () => {
    if (preflightError) throw preflightError;
    if (setup?.error) throw setup.error;
    await fn();
  });
}

// ---------------------------------------------------------------------------

describe(`Scalekit Node SDK against Gatehouse at ${GATEHOUSE_URL}`, () => {
  before(async () => {
    assert.equal(MembershipStatus.ACTIVE, ACTIVE, 'SDK MembershipStatus.ACTIVE changed');
    assert.equal(MembershipStatus.PENDING_INVITE, PENDING_INVITE, 'SDK MembershipStatus.PENDING_INVITE changed');
    // Preflight: one authenticated call (also exercises the SDK's
    // Unauthenticated -> POST /oauth/token -> retry flow). If the server is
    // unreachable, every test then fails fast with this error instead of
    // each one sitting through the SDK's Unavailable retry/backoff.
    try {
      await client.organization.listOrganization({ pageSize: 1 });
    } catch (err) {
      preflightError = new Error(
        `preflight listOrganization against ${GATEHOUSE_URL} failed: ${describeError(err)}`,
        { cause: err },
      );
    }
  });

  after(async () => {
    for (const id of createdUserIds) {
      await client.user.deleteUser(id).catch(() => {});
    }
    for (const id of createdOrgIds) {
      await client.organization.deleteOrganization(id).catch(() => {});
    }
  });

  // -------------------------------------------------------------------------
  describe('organization', () => {
    sdkTest('createOrganization returns org_ id and round-trips displayName/externalId', async () => {
      // NOTE: SDK 2.11.0 createOrganization(name, {externalId, logoUrl, slug})
      // silently drops any `metadata` option, so metadata is covered by the
      // updateOrganization test instead.
      const { org, displayName, externalId } = await createOrg('create');
      assert.match(org.id, /^org_/);
      assert.equal(org.displayName, displayName);
      assert.equal(org.externalId, externalId);
      assert.ok(org.createTime, 'createTime not set');
    });

    sdkTest('getOrganization returns the created organization', async () => {
      const { org, displayName, externalId } = await createOrg('get');
      const res = await client.organization.getOrganization(org.id);
      assert.ok(res.organization);
      assert.equal(res.organization.id, org.id);
      assert.equal(res.organization.displayName, displayName);
      assert.equal(res.organization.externalId, externalId);
    });

    sdkTest('getOrganizationByExternalId resolves the external id', async () => {
      const { org, displayName, externalId } = await createOrg('get-ext');
      const res = await client.organization.getOrganizationByExternalId(externalId);
      assert.ok(res.organization);
      assert.equal(res.organization.id, org.id);
      assert.equal(res.organization.displayName, displayName);
      assert.equal(res.organization.externalId, externalId);
    });

    sdkTest('listOrganization paginates with pageSize 2 without repeats', async () => {
      const created = [];
      for (let i = 0; i < 3; i++) created.push((await createOrg(`list${i}`)).org.id);

      const pages = await collectPages((pageToken) =>
        client.organization.listOrganization({ pageSize: 2, pageToken }),
      );
      const totalSize = pages[0].totalSize;
      assert.ok(totalSize >= 3, `totalSize ${totalSize} < 3 after creating 3 orgs`);
      assert.ok(pages.length >= 2, `expected >= 2 pages with pageSize 2, got ${pages.length}`);

      const seen = new Set();
      pages.forEach((page, i) => {
        assert.equal(page.totalSize, totalSize, `totalSize changed on page ${i}`);
        assert.ok(page.organizations.length <= 2, `page ${i} has ${page.organizations.length} > 2 orgs`);
        if (i < pages.length - 1) {
          assert.equal(page.organizations.length, 2, `non-final page ${i} is not full`);
        }
        for (const o of page.organizations) {
          assert.match(o.id, /^org_/);
          assert.ok(!seen.has(o.id), `organization ${o.id} repeated across pages`);
          seen.add(o.id);
        }
      });
      assert.equal(pages.at(-1).nextPageToken, '');
      assert.equal(seen.size, totalSize, 'number of listed orgs differs from totalSize');
      for (const id of created) assert.ok(seen.has(id), `created org ${id} missing from listing`);
    });

    sdkTest('updateOrganization changes displayName and metadata', async () => {
      const { org, externalId } = await createOrg('update');
      const newName = `Node SDK renamed ${unique()}`;
      const metadata = { plan: 'enterprise', region: `r-${unique()}` };

      const upd = await client.organization.updateOrganization(org.id, { displayName: newName, metadata });
      assert.ok(upd.organization);
      assert.equal(upd.organization.id, org.id);
      assert.equal(upd.organization.displayName, newName);
      assert.deepEqual({ ...upd.organization.metadata }, metadata);

      const got = await client.organization.getOrganization(org.id);
      assert.equal(got.organization.displayName, newName);
      assert.deepEqual({ ...got.organization.metadata }, metadata);
      assert.equal(got.organization.externalId, externalId, 'externalId lost on update');
    });

    sdkTest('deleteOrganization then getOrganization rejects with NotFound', async () => {
      const { org, externalId } = await createOrg('delete');
      await client.organization.deleteOrganization(org.id);
      createdOrgIds.delete(org.id);
      await assertNotFound(client.organization.getOrganization(org.id));
      await assertNotFound(client.organization.getOrganizationByExternalId(externalId));
    });

    sdkTest('getOrganization on an unknown id rejects with NotFound', async () => {
      await assertNotFound(client.organization.getOrganization('org_999999999999999999'));
    });

    sdkTest('duplicate externalId on createOrganization rejects with AlreadyExists', async () => {
      const { externalId } = await createOrg('dup');
      await assertAlreadyExists(
        client.organization.createOrganization(`Node SDK dup ${unique()}`, { externalId }),
      );
    });
  });

  // -------------------------------------------------------------------------
  describe('user', () => {
    let org;
    const setup = suiteSetup(async () => {
      ({ org } = await createOrg('users'));
    });

    sdkTest('createUserAndMembership with sendInvitationEmail:false is ACTIVE and email-verified', async () => {
      const email = uniqueEmail('active');
      const externalId = `node-sdk-usr-${unique()}`;
      const metadata = { source: 'node-sdk-test', tier: 'gold' };
      const res = await client.user.createUserAndMembership(org.id, {
        email,
        externalId,
        metadata,
        userProfile: { firstName: 'Ada', lastName: 'Lovelace' },
        sendInvitationEmail: false,
      });
      const user = res.user;
      assert.ok(user);
      createdUserIds.add(user.id);

      assert.match(user.id, /^usr_/);
      assert.equal(user.email, email);
      assert.equal(user.externalId, externalId);
      assert.deepEqual({ ...user.metadata }, metadata);
      assert.ok(user.userProfile, 'userProfile missing');
      assert.equal(user.userProfile.firstName, 'Ada');
      assert.equal(user.userProfile.lastName, 'Lovelace');
      assert.equal(user.userProfile.emailVerified, true);

      assert.equal(user.memberships.length, 1);
      const m = membershipFor(user, org.id);
      assert.ok(m, `no membership for ${org.id}`);
      assert.equal(m.membershipStatus, MembershipStatus.ACTIVE);
    }, setup);

    sdkTest('createUserAndMembership with sendInvitationEmail:true is PENDING_INVITE', async () => {
      const { user } = await createUser(org.id, 'invite-true', { sendInvitationEmail: true });
      assert.match(user.id, /^usr_/);
      const m = membershipFor(user, org.id);
      assert.ok(m, `no membership for ${org.id}`);
      assert.equal(m.membershipStatus, MembershipStatus.PENDING_INVITE);
      assert.equal(user.userProfile?.emailVerified ?? false, false, 'invited user should not be email-verified yet');
    }, setup);

    sdkTest('createUserAndMembership with sendInvitationEmail omitted is PENDING_INVITE', async () => {
      const { user } = await createUser(org.id, 'invite-omitted', { sendInvitationEmail: undefined });
      const m = membershipFor(user, org.id);
      assert.ok(m, `no membership for ${org.id}`);
      assert.equal(m.membershipStatus, MembershipStatus.PENDING_INVITE);
    }, setup);

    sdkTest("createUserAndMembership accepts the organization's external id", async () => {
      const { org: extOrg, externalId } = await createOrg('by-ext');
      const { user } = await createUser(externalId, 'by-ext');
      assert.match(user.id, /^usr_/);
      assert.equal(user.memberships.length, 1);
      assert.equal(user.memberships[0].organizationId, extOrg.id, 'membership landed in the wrong org');

      const members = await client.user.listOrganizationUsers(extOrg.id, { pageSize: 10 });
      assert.deepEqual(
        members.users.map((u) => u.id),
        [user.id],
      );
    }, setup);

    sdkTest('getUser returns the created user', async () => {
      const { user, email } = await createUser(org.id, 'get', {
        userProfile: { firstName: 'Grace', lastName: 'Hopper' },
      });
      const res = await client.user.getUser(user.id);
      assert.ok(res.user);
      assert.equal(res.user.id, user.id);
      assert.equal(res.user.email, email);
      assert.equal(res.user.externalId, user.externalId);
      assert.equal(res.user.userProfile?.firstName, 'Grace');
      assert.equal(res.user.userProfile?.lastName, 'Hopper');
      assert.ok(res.user.createTime, 'createTime not set');
      const m = membershipFor(res.user, org.id);
      assert.ok(m, `no membership for ${org.id}`);
      assert.equal(m.membershipStatus, MembershipStatus.ACTIVE);
    }, setup);

    sdkTest('listUsers pages with pageSize and includes the created user', async () => {
      const { user } = await createUser(org.id, 'list-all');
      const first = await client.user.listUsers({ pageSize: 2 });
      assert.ok(first.users.length >= 1 && first.users.length <= 2, `got ${first.users.length} users`);
      assert.ok(first.totalSize >= 1);
      for (const u of first.users) assert.match(u.id, /^usr_/);

      const pages = await collectPages((pageToken) => client.user.listUsers({ pageSize: 100, pageToken }));
      const ids = pages.flatMap((p) => p.users.map((u) => u.id));
      assert.equal(new Set(ids).size, ids.length, 'user ids repeated across pages');
      assert.equal(ids.length, pages[0].totalSize, 'number of listed users differs from totalSize');
      assert.ok(ids.includes(user.id), `created user ${user.id} missing from listUsers`);
    }, setup);

    sdkTest('listOrganizationUsers pages with pageSize', async () => {
      const { org: o } = await createOrg('org-users');
      const created = [];
      for (let i = 0; i < 3; i++) created.push((await createUser(o.id, `ou${i}`)).user.id);

      const first = await client.user.listOrganizationUsers(o.id, { pageSize: 2 });
      assert.equal(first.totalSize, 3);
      assert.equal(first.users.length, 2);
      assert.notEqual(first.nextPageToken, '', 'expected a nextPageToken');

      const pages = await collectPages((pageToken) =>
        client.user.listOrganizationUsers(o.id, { pageSize: 2, pageToken }),
      );
      assert.equal(pages.length, 2);
      const ids = pages.flatMap((p) => p.users.map((u) => u.id));
      assert.equal(new Set(ids).size, ids.length, 'user ids repeated across pages');
      assert.deepEqual([...ids].sort(), [...created].sort());
      for (const p of pages) {
        for (const u of p.users) assert.ok(membershipFor(u, o.id), `listed user ${u.id} lacks membership`);
      }
    }, setup);

    sdkTest('updateUser changes firstName and metadata', async () => {
      const { user } = await createUser(org.id, 'update', {
        userProfile: { firstName: 'Before', lastName: 'Keep' },
        metadata: { a: '1' },
      });
      const metadata = { a: '2', b: 'x' };
      const upd = await client.user.updateUser(user.id, { userProfile: { firstName: 'After' }, metadata });
      assert.ok(upd.user);
      assert.equal(upd.user.id, user.id);
      assert.equal(upd.user.userProfile?.firstName, 'After');
      assert.deepEqual({ ...upd.user.metadata }, metadata);

      const got = await client.user.getUser(user.id);
      assert.equal(got.user.userProfile?.firstName, 'After');
      assert.equal(got.user.userProfile?.lastName, 'Keep', 'unset lastName was overwritten');
      assert.deepEqual({ ...got.user.metadata }, metadata);
      assert.equal(got.user.email, user.email);
      assert.equal(got.user.externalId, user.externalId, 'externalId lost on update');
    }, setup);

    sdkTest('deleteUser then getUser rejects with NotFound', async () => {
      const { user } = await createUser(org.id, 'delete');
      await client.user.deleteUser(user.id);
      createdUserIds.delete(user.id);
      await assertNotFound(client.user.getUser(user.id));
    }, setup);
  });

  // -------------------------------------------------------------------------
  describe('membership', () => {
    let homeOrg;
    let otherOrg;
    let user;
    const setup = suiteSetup(async () => {
      ({ org: homeOrg } = await createOrg('mem-home'));
      ({ org: otherOrg } = await createOrg('mem-other'));
      ({ user } = await createUser(homeOrg.id, 'member'));
    });

    sdkTest('createMembership adds the user to a second org with role and metadata', async () => {
      const metadata = { team: 'blue' };
      const res = await client.user.createMembership(otherOrg.id, user.id, {
        roles: ['member'],
        metadata,
        sendInvitationEmail: false,
      });
      assert.ok(res.user);
      assert.equal(res.user.id, user.id);
      const m = membershipFor(res.user, otherOrg.id);
      assert.ok(m, `no membership for ${otherOrg.id} in response`);
      assert.deepEqual(roleNames(m), ['member']);
      assert.deepEqual({ ...m.metadata }, metadata);
      assert.equal(m.membershipStatus, MembershipStatus.ACTIVE);
      assert.ok(membershipFor(res.user, homeOrg.id), 'original membership missing');

      const members = await client.user.listOrganizationUsers(otherOrg.id, { pageSize: 10 });
      assert.ok(members.users.some((u) => u.id === user.id), 'user not listed in new org');
    }, setup);

    sdkTest('updateMembership replaces roles', async () => {
      const res = await client.user.updateMembership(otherOrg.id, user.id, { roles: ['admin'] });
      assert.ok(res.user);
      const m = membershipFor(res.user, otherOrg.id);
      assert.ok(m, `no membership for ${otherOrg.id} in response`);
      assert.deepEqual(roleNames(m), ['admin']);

      const got = await client.user.getUser(user.id);
      assert.deepEqual(roleNames(membershipFor(got.user, otherOrg.id)), ['admin']);
    }, setup);

    sdkTest('deleteMembership removes the user from the org listing', async () => {
      await client.user.deleteMembership(otherOrg.id, user.id);

      const members = await client.user.listOrganizationUsers(otherOrg.id, { pageSize: 100 });
      assert.ok(!members.users.some((u) => u.id === user.id), 'user still listed after deleteMembership');

      const got = await client.user.getUser(user.id);
      assert.equal(membershipFor(got.user, otherOrg.id), undefined, 'membership still on user');
      assert.ok(membershipFor(got.user, homeOrg.id), 'unrelated membership was removed');
    }, setup);
  });
});
