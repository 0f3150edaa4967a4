// Drives the official Scalekit Node SDK (@scalekit-sdk/node, pinned in
// package.json) against a live Gatehouse server and checks that roles,
// permissions and the user role calls are wire-compatible: client.role.*,
// client.permission.* and client.user's assignUserRoles, listUserRoles,
// removeUserRole and listUserPermissions.
//
// Required environment, as for orgs_users.test.mjs:
//   GATEHOUSE_URL, GATEHOUSE_CLIENT_ID, GATEHOUSE_CLIENT_SECRET
//
// Every role and permission name carries a unique suffix, so the suite can
// run repeatedly against the same server. It changes the environment's
// default roles for a moment (and restores them), so run the suites one
// file at a time (node --test --test-concurrency=1).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  ScalekitClient,
  ScalekitServerException,
  ScalekitNotFoundException,
  ScalekitConflictException,
  ScalekitBadRequestException,
} from '@scalekit-sdk/node';

const REQUIRED_ENV = ['GATEHOUSE_URL', 'GATEHOUSE_CLIENT_ID', 'GATEHOUSE_CLIENT_SECRET'];
const missingEnv = REQUIRED_ENV.filter((name) => !process.env[name]);
if (missingEnv.length > 0) {
  throw new Error(
    `roles.test.mjs: missing required environment variable(s): ${missingEnv.join(', ')}. ` +
      'Set GATEHOUSE_URL (e.g. http://127.0.0.1:8080), GATEHOUSE_CLIENT_ID and GATEHOUSE_CLIENT_SECRET.',
  );
}
const GATEHOUSE_URL = process.env.GATEHOUSE_URL;
const client = new ScalekitClient(GATEHOUSE_URL, process.env.GATEHOUSE_CLIENT_ID, process.env.GATEHOUSE_CLIENT_SECRET);

// gRPC status codes (google.rpc.Code / connect-es Code).
const GRPC_INVALID_ARGUMENT = 3;
const GRPC_NOT_FOUND = 5;
const GRPC_ALREADY_EXISTS = 6;
const GRPC_FAILED_PRECONDITION = 9;

// ---------------------------------------------------------------------------
// Helpers

let counter = 0;
/** A suffix of letters and digits, unique across runs and within this run. */
function unique() {
  counter += 1;
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}${counter}`;
}
const roleName = (tag) => `sdk_${tag}_${unique()}`;
const permName = (tag) => `sdk${unique()}:${tag}`;

const names = (list) => (list ?? []).map((x) => x.name).sort();

function describeError(err) {
  if (err instanceof ScalekitServerException) {
    return `${err.name} grpcStatus=${err.grpcStatus} httpStatus=${err.httpStatus} message=${err.message}`;
  }
  return `${err?.name ?? typeof err}: ${err?.message ?? String(err)}`;
}

/** The field names of the ErrorInfo field violations of an SDK error. */
function violatedFields(err) {
  return (err.unpackedDetails ?? []).flatMap((d) => (d.validationErrorInfo?.fieldViolations ?? []).map((v) => v.field));
}

/**
 * Asserts that promise rejects with the SDK's server exception of the given
 * gRPC code, HTTP status and class, naming field (when given) in a field
 * violation.
 */
async function assertRejectsWith(promise, { grpcStatus, httpStatus, cls, field }) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof ScalekitServerException, `expected ScalekitServerException, got ${describeError(err)}`);
    assert.equal(err.grpcStatus, grpcStatus, `wrong gRPC code: ${describeError(err)}`);
    assert.equal(err.httpStatus, httpStatus, `wrong HTTP status: ${describeError(err)}`);
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${describeError(err)}`);
    if (field) {
      const fields = violatedFields(err);
      assert.ok(
        fields.some((f) => f === field || f.endsWith(`.${field}`)),
        `no field violation naming ${field}: ${JSON.stringify(fields)} (${describeError(err)})`,
      );
    }
    return true;
  });
}

const assertNotFound = (p) => assertRejectsWith(p, { grpcStatus: GRPC_NOT_FOUND, httpStatus: 404, cls: ScalekitNotFoundException });
const assertConflict = (p, field) =>
  assertRejectsWith(p, { grpcStatus: GRPC_ALREADY_EXISTS, httpStatus: 409, cls: ScalekitConflictException, field });
const assertInvalid = (p, field) =>
  assertRejectsWith(p, { grpcStatus: GRPC_INVALID_ARGUMENT, httpStatus: 400, cls: ScalekitBadRequestException, field });
const assertPrecondition = (p) =>
  assertRejectsWith(p, { grpcStatus: GRPC_FAILED_PRECONDITION, httpStatus: 400, cls: ScalekitBadRequestException });

// Cleanup registry: roles are deleted newest first (dependents before bases).
const createdRoles = [];
const createdPermissions = [];
const createdOrgIds = [];
const createdUserIds = [];

async function createPermission(tag) {
  const name = permName(tag);
  const res = await client.permission.createPermission({ name, description: `may ${tag}` });
  createdPermissions.push(name);
  return res.permission;
}

async function createRole(tag, extra = {}) {
  const name = roleName(tag);
  const res = await client.role.createRole({ name, displayName: `SDK ${tag}`, permissions: [], ...extra });
  createdRoles.push(name);
  return res.role;
}

async function createOrgAndUser(tag, roles) {
  const org = (await client.organization.createOrganization(`SDK roles ${tag} ${unique()}`, {})).organization;
  createdOrgIds.push(org.id);
  const res = await client.user.createUserAndMembership(org.id, {
    email: `node-sdk-roles-${tag}-${unique()}@example.com`.toLowerCase(),
    sendInvitationEmail: false,
  });
  createdUserIds.push(res.user.id);
  if (roles) {
    // createUserAndMembership (SDK 2.11.0) sends no roles; set them after.
    await client.user.updateMembership(org.id, res.user.id, { roles });
  }
  return { org, user: res.user };
}

let preflightError;
function sdkTest(name, fn) {
  test(name, async () => {
    if (preflightError) throw preflightError;
    await fn();
  });
}

// ---------------------------------------------------------------------------

describe(`Scalekit Node SDK roles and permissions against Gatehouse at ${GATEHOUSE_URL}`, () => {
  before(async () => {
    try {
      await client.role.listRoles();
    } catch (err) {
      preflightError = new Error(`preflight listRoles against ${GATEHOUSE_URL} failed: ${describeError(err)}`, { cause: err });
    }
  });

  after(async () => {
    for (const id of createdUserIds) await client.user.deleteUser(id).catch(() => {});
    for (const id of createdOrgIds) await client.organization.deleteOrganization(id).catch(() => {});
    for (const name of createdRoles.reverse()) await client.role.deleteRole(name, 'member').catch(() => {});
    for (const name of createdPermissions) await client.permission.deletePermission(name).catch(() => {});
  });

  describe('permission', () => {
    sdkTest('createPermission, getPermission and updatePermission round-trip', async () => {
      const p = await createPermission('read');
      assert.match(p.id, /^perm_/);
      assert.match(p.name, /^sdk[a-z0-9]+:read$/);
      assert.equal(p.description, 'may read');
      assert.ok(p.createTime, 'createTime not set');
      assert.equal(p.isScalekitPermission, false);

      const got = await client.permission.getPermission(p.name);
      assert.equal(got.permission.id, p.id);

      const upd = await client.permission.updatePermission(p.name, { name: p.name, description: 'may read, updated' });
      assert.equal(upd.permission.description, 'may read, updated');
      assert.equal((await client.permission.getPermission(p.name)).permission.description, 'may read, updated');
    });

    sdkTest('listPermissions pages with pageSize 2', async () => {
      const mine = [];
      for (let i = 0; i < 3; i++) mine.push((await createPermission(`list${i}`)).name);
      const seen = new Set();
      let pageToken;
      let pages = 0;
      do {
        const page = await client.permission.listPermissions(pageToken, 2);
        assert.ok(page.permissions.length <= 2);
        assert.ok(page.totalSize >= 3);
        for (const p of page.permissions) {
          assert.ok(!seen.has(p.name), `permission ${p.name} repeated across pages`);
          seen.add(p.name);
        }
        pageToken = page.nextPageToken;
        pages += 1;
      } while (pageToken && pages < 1000);
      for (const n of mine) assert.ok(seen.has(n), `${n} missing from the pages`);
    });

    sdkTest('a duplicate, a bad name and an unknown permission are refused', async () => {
      const p = await createPermission('dup');
      await assertConflict(client.permission.createPermission({ name: p.name, description: 'again' }), 'name');
      await assertInvalid(client.permission.createPermission({ name: 'Not A:Valid Name', description: '' }), 'name');
      await assertNotFound(client.permission.getPermission(permName('nope')));
    });

    sdkTest('deletePermission removes it, from roles too', async () => {
      const p = await createPermission('gone');
      const r = await createRole('holder', { permissions: [p.name] });
      await client.permission.deletePermission(p.name);
      await assertNotFound(client.permission.getPermission(p.name));
      assert.deepEqual(names((await client.permission.listRolePermissions(r.name)).permissions), []);
    });
  });

  describe('role', () => {
    sdkTest('createRole, getRole, listRoles and updateRole round-trip', async () => {
      const p1 = await createPermission('a');
      const p2 = await createPermission('b');
      const r = await createRole('crud', { description: 'a test role', permissions: [p1.name] });
      assert.match(r.id, /^role_/);
      assert.equal(r.displayName, 'SDK crud');
      assert.equal(r.description, 'a test role');
      assert.equal(r.isOrgRole, false);
      assert.deepEqual(names(r.permissions), [p1.name]);

      const got = await client.role.getRole(r.name);
      assert.equal(got.role.id, r.id);
      assert.deepEqual(names(got.role.permissions), [p1.name]);

      const listed = await client.role.listRoles();
      const names_ = names(listed.roles);
      assert.ok(names_.includes(r.name) && names_.includes('admin') && names_.includes('member'), `listRoles: ${names_}`);

      const upd = await client.role.updateRole(r.name, { displayName: 'SDK crud 2', permissions: [p2.name] });
      assert.equal(upd.role.displayName, 'SDK crud 2');
      assert.equal(upd.role.description, 'a test role');
      assert.deepEqual(names(upd.role.permissions), [p2.name]);
    });

    sdkTest('a role extending a base inherits its permissions transitively', async () => {
      const pv = await createPermission('view');
      const pe = await createPermission('edit');
      const pp = await createPermission('publish');
      const viewer = await createRole('viewer', { permissions: [pv.name] });
      const editor = await createRole('editor', { extends: viewer.name, permissions: [pe.name] });
      const publisher = await createRole('publisher', { extends: editor.name });
      assert.equal(publisher.extends, editor.name);

      const added = await client.permission.addPermissionsToRole(publisher.name, [pp.name]);
      assert.deepEqual(names(added.permissions), [pp.name]);
      assert.deepEqual(names((await client.permission.listRolePermissions(publisher.name)).permissions), [pp.name]);
      const effective = await client.permission.listEffectiveRolePermissions(publisher.name);
      assert.deepEqual(names(effective.permissions), [pe.name, pp.name, pv.name].sort());

      const deps = await client.role.listDependentRoles(viewer.name);
      assert.deepEqual(names(deps.roles), [editor.name]);
      assert.equal((await client.role.getRole(viewer.name)).role.dependentRolesCount, 1);

      await client.permission.removePermissionFromRole(publisher.name, pp.name);
      assert.deepEqual(names((await client.permission.listEffectiveRolePermissions(publisher.name)).permissions), [pe.name, pv.name].sort());

      // A base that would close a cycle is refused and changes nothing.
      await assertInvalid(client.role.updateRole(viewer.name, { extends: publisher.name, description: 'changed' }), 'extends');
      const v = (await client.role.getRole(viewer.name)).role;
      assert.equal(v.extends, undefined);
      assert.equal(v.description, '');

      await client.role.deleteRoleBase(editor.name);
      assert.equal((await client.role.getRole(editor.name)).role.extends, undefined);
      assert.deepEqual(names((await client.permission.listEffectiveRolePermissions(publisher.name)).permissions), [pe.name]);
    });

    sdkTest('a bad role name and a duplicate are refused', async () => {
      await assertInvalid(client.role.createRole({ name: 'has-dash', displayName: 'x', permissions: [] }), 'name');
      const r = await createRole('dup');
      await assertConflict(client.role.createRole({ name: r.name, displayName: 'again', permissions: [] }), 'name');
      await assertInvalid(client.role.createRole({ name: roleName('x'), displayName: 'x', permissions: [permName('nope')] }), 'permissions');
      await assertNotFound(client.role.getRole(roleName('nope')));
    });

    sdkTest('deleteRole needs a reassign target while assigned, then moves the users', async () => {
      const doomed = await createRole('doomed');
      const heir = await createRole('heir');
      const { org, user } = await createOrgAndUser('delete', [doomed.name]);
      assert.equal((await client.role.getRoleUsersCount(doomed.name)).count, 1n);

      await assertPrecondition(client.role.deleteRole(doomed.name));
      assert.deepEqual(names((await client.user.listUserRoles(org.id, user.id)).roles), [doomed.name]);

      await client.role.deleteRole(doomed.name, heir.name);
      await assertNotFound(client.role.getRole(doomed.name));
      assert.deepEqual(names((await client.user.listUserRoles(org.id, user.id)).roles), [heir.name]);
      assert.equal((await client.role.getRoleUsersCount(heir.name)).count, 1n);
    });

    sdkTest('updateDefaultRoles decides what a member added without roles gets', async () => {
      const fresh = await createRole('default');
      try {
        const res = await client.role.updateDefaultRoles({ defaultMemberRole: fresh.name });
        assert.equal(res.defaultMember.name, fresh.name);
        assert.equal(res.defaultMember.defaultMember, true);
        assert.equal(res.defaultCreator.name, 'admin');
        const { org, user } = await createOrgAndUser('default');
        assert.deepEqual(names((await client.user.listUserRoles(org.id, user.id)).roles), [fresh.name]);
        await assertInvalid(client.role.updateDefaultRoles({ defaultMemberRole: roleName('nope') }), 'default_member_role');
        await assertPrecondition(client.role.deleteRole(fresh.name, 'member'));
      } finally {
        await client.role.updateDefaultRoles({ defaultCreatorRole: 'admin', defaultMemberRole: 'member' });
      }
    });
  });

  describe('organization role', () => {
    sdkTest('the organization role calls round-trip', async () => {
      const perm = await createPermission('org');
      const base = await createRole('orgbase', { permissions: [perm.name] });
      const { org } = await createOrgAndUser('orgroles');
      const name = roleName('lead');
      const created = await client.role.createOrganizationRole(org.id, {
        name, displayName: 'Lead', description: 'leads', extends: base.name, permissions: [],
      });
      assert.equal(created.role.isOrgRole, true);
      assert.equal(created.role.extends, base.name);

      const got = await client.role.getOrganizationRole(org.id, name);
      assert.equal(got.role.id, created.role.id);
      const listed = names((await client.role.listOrganizationRoles(org.id)).roles);
      assert.ok(listed.includes(name) && listed.includes(base.name) && listed.includes('member'), `listOrganizationRoles: ${listed}`);
      assert.ok(!names((await client.role.listRoles()).roles).includes(name), 'an organization role is listed as an environment role');

      const upd = await client.role.updateOrganizationRole(org.id, name, { displayName: 'Team lead' });
      assert.equal(upd.role.displayName, 'Team lead');
      assert.equal(upd.role.description, 'leads');

      const def = await client.role.updateDefaultOrganizationRoles(org.id, name);
      assert.equal(def.defaultMember.name, name);
      const res = await client.user.createUserAndMembership(org.id, {
        email: `node-sdk-roles-orgdefault-${unique()}@example.com`.toLowerCase(),
        sendInvitationEmail: false,
      });
      createdUserIds.push(res.user.id);
      assert.deepEqual(names((await client.user.listUserRoles(org.id, res.user.id)).roles), [name]);
      assert.equal((await client.role.getOrganizationRoleUsersCount(org.id, name)).count, 1n);
      assert.deepEqual(names((await client.user.listUserPermissions(org.id, res.user.id)).permissions), [perm.name]);

      await client.role.deleteOrganizationRoleBase(org.id, name);
      assert.equal((await client.role.getOrganizationRole(org.id, name)).role.extends, undefined);
      await client.role.updateDefaultOrganizationRoles(org.id, 'member');
      await assertPrecondition(client.role.deleteOrganizationRole(org.id, name));
      await client.role.deleteOrganizationRole(org.id, name, 'member');
      await assertNotFound(client.role.getOrganizationRole(org.id, name));
      assert.deepEqual(names((await client.user.listUserRoles(org.id, res.user.id)).roles), ['member']);
    });
  });

  describe('user roles', () => {
    sdkTest('assignUserRoles, listUserRoles, listUserPermissions and removeUserRole', async () => {
      const pr = await createPermission('r');
      const pw = await createPermission('w');
      const reader = await createRole('reader', { permissions: [pr.name] });
      const writer = await createRole('writer', { extends: reader.name, permissions: [pw.name] });
      const { org, user } = await createOrgAndUser('userroles');
      assert.deepEqual(names((await client.user.listUserRoles(org.id, user.id)).roles), ['member']);

      const assigned = await client.user.assignUserRoles(org.id, user.id, [writer.name]);
      assert.deepEqual(names(assigned.roles), ['member', writer.name].sort());
      assert.deepEqual(names((await client.user.listUserRoles(org.id, user.id)).roles), ['member', writer.name].sort());
      const perms = await client.user.listUserPermissions(org.id, user.id);
      assert.deepEqual(names(perms.permissions), [pr.name, pw.name].sort());

      await assertInvalid(client.user.assignUserRoles(org.id, user.id, [roleName('nope')]), 'roles');
      assert.deepEqual(names((await client.user.listUserRoles(org.id, user.id)).roles), ['member', writer.name].sort());

      await client.user.removeUserRole(org.id, user.id, writer.name);
      assert.deepEqual(names((await client.user.listUserRoles(org.id, user.id)).roles), ['member']);
      assert.deepEqual(names((await client.user.listUserPermissions(org.id, user.id)).permissions), []);
      await assertNotFound(client.user.removeUserRole(org.id, user.id, writer.name));
    });
  });
});
