package api_test

// UserService: users, their memberships and invitations.

import (
	"net/http"
	"sort"
	"strings"
	"testing"

	"connectrpc.com/connect"

	commonsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/commons"
	usersv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/users"
)

func byID(id string) *usersv1.GetUserRequest {
	return &usersv1.GetUserRequest{Identities: &usersv1.GetUserRequest_Id{Id: id}}
}

func roleNamesOf(m *commonsv1.OrganizationMembership) []string {
	var out []string
	for _, r := range m.GetRoles() {
		out = append(out, r.GetName())
	}
	sort.Strings(out)
	return out
}

func membershipIn(u *usersv1.User, orgID string) *commonsv1.OrganizationMembership {
	for _, m := range u.GetMemberships() {
		if m.GetOrganizationId() == orgID {
			return m
		}
	}
	return nil
}

func (h *harness) getUser(id string) *usersv1.User {
	h.t.Helper()
	resp, err := h.grpcUsers.GetUser(ctx, connect.NewRequest(byID(id)))
	if err != nil {
		h.t.Fatalf("GetUser(%s): %v", id, err)
	}
	return resp.Msg.GetUser()
}

func TestCreateUserAndMembershipOverEachRPCTransport(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		org := h.createOrg("Org", "org_123")
		for _, c := range h.transports() {
			addr := c.name + "@example.com"
			resp, err := c.users.CreateUserAndMembership(ctx, connect.NewRequest(&usersv1.CreateUserAndMembershipRequest{
				OrganizationId: "org_123", SendInvitationEmail: ptr(false),
				User: &usersv1.CreateUser{Email: addr, ExternalId: ptr("ext-" + c.name),
					UserProfile: &usersv1.CreateUserProfile{FirstName: "Ada", LastName: "Lovelace"},
					Membership:  &usersv1.CreateMembership{Roles: []*commonsv1.Role{{Name: "admin"}}}},
			}))
			if err != nil {
				t.Fatalf("%s CreateUserAndMembership: %v", c.name, err)
			}
			u := resp.Msg.GetUser()
			m := membershipIn(u, org)
			if m == nil || m.GetMembershipStatus() != commonsv1.MembershipStatus_ACTIVE || !equal(roleNamesOf(m), []string{"admin"}) {
				t.Errorf("%s: membership %v, want ACTIVE admin in %s", c.name, m, org)
			}
			out := h.mustREST("GET", "/api/v1/users/"+u.GetId(), "")
			if str(out, "user.email") != addr || str(out, "user.user_profile.first_name") != "Ada" ||
				str(out, "user.memberships.0.organization_id") != org || get(out, "user.user_profile.email_verified") != true {
				t.Errorf("%s-created user reads over REST as %v", c.name, out)
			}
		}
	})
}

func TestCreateUserWithoutRolesMakesAMember(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		org := h.createOrg("Org", "")
		uid := h.createUser(org, "m@example.com", "")
		if got := roleNamesOf(membershipIn(h.getUser(uid), org)); !equal(got, []string{"member"}) {
			t.Errorf("roles %v, want the default [member]", got)
		}
	})
}

func TestDefaultRolesAdminAndMemberBothExist(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		org := h.createOrg("Org", "")
		uid := h.createUser(org, "both@example.com", "", "admin", "member")
		if got := roleNamesOf(membershipIn(h.getUser(uid), org)); !equal(got, []string{"admin", "member"}) {
			t.Errorf("roles %v, want [admin member]", got)
		}
	})
}

func TestUnknownRoleIsRejectedNamingTheFieldAndWritesNothing(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.createOrg("Org", "org_123")
		mail := len(h.outbox())
		status, body := h.rest("POST", "/api/v1/organizations/org_123/users",
			strings.Replace(guideUserBody, `["admin"]`, `["admin", "superhero"]`, 1))
		e := wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "membership.roles")
		if v := findViolation(e.Violations, "membership.roles"); v != nil && !strings.Contains(v.Description, "superhero") {
			t.Errorf("violation %q does not name the unknown role", v.Description)
		}
		h.wantCounts(1, 0)
		if n := len(h.outbox()); n != mail {
			t.Errorf("outbox grew from %d to %d after a rejected create", mail, n)
		}
		// The email and external id are still free.
		h.mustREST("POST", "/api/v1/organizations/org_123/users", guideUserBody)
	})
}

func TestGetUserByIDAndByExternalID(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		org := h.createOrg("Org", "")
		uid := h.createUser(org, "get@example.com", "usr_987")
		for _, c := range h.transports() {
			resp, err := c.users.GetUser(ctx, connect.NewRequest(&usersv1.GetUserRequest{
				Identities: &usersv1.GetUserRequest_ExternalId{ExternalId: "usr_987"}}))
			if err != nil || resp.Msg.GetUser().GetId() != uid {
				t.Errorf("%s GetUser by external id: %v %v", c.name, resp, err)
			}
			resp, err = c.users.GetUser(ctx, connect.NewRequest(byID(uid)))
			if err != nil || resp.Msg.GetUser().GetEmail() != "get@example.com" {
				t.Errorf("%s GetUser by id: %v %v", c.name, resp, err)
			}
		}
		if out := h.mustREST("GET", "/api/v1/users/"+uid, ""); str(out, "user.external_id") != "usr_987" {
			t.Errorf("REST GetUser: %v", out)
		}
		_, err := h.grpcUsers.GetUser(ctx, connect.NewRequest(&usersv1.GetUserRequest{
			Identities: &usersv1.GetUserRequest_ExternalId{ExternalId: "nobody"}}))
		wantRPC(t, err, connect.CodeNotFound)
	})
}

func TestListUsersAndSearchUsers(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		a := h.createOrg("A", "")
		b := h.createOrg("B", "")
		u1 := h.createUser(a, "ada@example.com", "")
		u2 := h.createUser(b, "grace@example.com", "ext-grace")
		out := h.mustREST("GET", "/api/v1/users?page_size=1", "")
		if num(out, "total_size") != 2 || len(list(out, "users")) != 1 || str(out, "users.0.id") != u1 || str(out, "next_page_token") == "" {
			t.Fatalf("ListUsers page 1: %v", out)
		}
		out = h.mustREST("GET", "/api/v1/users?page_size=1&page_token="+str(out, "next_page_token"), "")
		if str(out, "users.0.id") != u2 || str(out, "next_page_token") != "" {
			t.Errorf("ListUsers page 2: %v", out)
		}
		out = h.mustREST("GET", "/api/v1/users:search?query=GRACE", "")
		if num(out, "total_size") != 1 || str(out, "users.0.id") != u2 {
			t.Errorf("SearchUsers by email: %v", out)
		}
		resp, err := h.grpcUsers.SearchUsers(ctx, connect.NewRequest(&usersv1.SearchUsersRequest{Query: "ext-gr"}))
		if err != nil || len(resp.Msg.GetUsers()) != 1 || resp.Msg.GetUsers()[0].GetId() != u2 {
			t.Errorf("gRPC SearchUsers by external id: %v %v", resp, err)
		}
	})
}

func TestListAndSearchOrganizationUsersShowOnlyThatOrganization(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		a := h.createOrg("A", "org-a")
		b := h.createOrg("B", "")
		ada := h.createUser(a, "ada@example.com", "")
		alan := h.createUser(a, "alan@example.com", "")
		h.createUser(b, "grace@example.com", "")
		out := h.mustREST("GET", "/api/v1/organizations/"+a+"/users", "")
		var got []string
		for _, u := range list(out, "users") {
			got = append(got, str(u, "id"))
		}
		if num(out, "total_size") != 2 || !equal(got, []string{ada, alan}) {
			t.Errorf("ListOrganizationUsers(%s): %v, want %v", a, got, []string{ada, alan})
		}
		out = h.mustREST("GET", "/api/v1/organizations/"+a+"/users:search?query=alan", "")
		if num(out, "total_size") != 1 || str(out, "users.0.id") != alan {
			t.Errorf("SearchOrganizationUsers: %v, want only alan", out)
		}
		resp, err := h.grpcUsers.SearchOrganizationUsers(ctx, connect.NewRequest(&usersv1.SearchOrganizationUsersRequest{
			OrganizationId: "org-a", Query: "grace"}))
		if err != nil || len(resp.Msg.GetUsers()) != 0 {
			t.Errorf("searching org A for a user of org B: %v %v", resp, err)
		}
		lresp, err := h.grpcUsers.ListOrganizationUsers(ctx, connect.NewRequest(&usersv1.ListOrganizationUsersRequest{OrganizationId: b}))
		if err != nil || lresp.Msg.GetTotalSize() != 1 {
			t.Errorf("gRPC ListOrganizationUsers(%s): %v %v", b, lresp, err)
		}
		status, body := h.rest("GET", "/api/v1/organizations/org_nope/users", "")
		wantREST(t, status, body, http.StatusNotFound, "NOT_FOUND")
	})
}

func TestUpdateUserChangesTheFieldsSetAndKeepsTheRest(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.mustREST("POST", "/api/v1/organizations", guideOrgBody)
		uid := str(h.mustREST("POST", "/api/v1/organizations/org_123/users", guideUserBody), "user.id")
		out := h.mustREST("PATCH", "/api/v1/users/"+uid, `{"user_profile":{"first_name":"Johnny"},"metadata":{"team":"core"}}`)
		u := h.getUser(uid)
		p := u.GetUserProfile()
		if p.GetFirstName() != "Johnny" || p.GetLastName() != "Doe" || p.GetLocale() != "en-US" || u.GetExternalId() != "usr_987" ||
			u.GetMetadata()["team"] != "core" || u.GetEmail() != "user@example.com" {
			t.Errorf("after updating first_name and metadata: %v", u)
		}
		if str(out, "user.user_profile.first_name") != "Johnny" {
			t.Errorf("response does not show the update: %v", out)
		}
		resp, err := h.grpcUsers.UpdateUser(ctx, connect.NewRequest(&usersv1.UpdateUserRequest{
			Identities: &usersv1.UpdateUserRequest_ExternalId{ExternalId: "usr_987"},
			User:       &usersv1.UpdateUser{ExternalId: ptr("usr_988")}}))
		if err != nil || resp.Msg.GetUser().GetExternalId() != "usr_988" || resp.Msg.GetUser().GetUserProfile().GetFirstName() != "Johnny" {
			t.Errorf("gRPC UpdateUser by external id: %v %v", resp, err)
		}
	})
}

func TestUpdateUserRejectsBadInputAndChangesNothing(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		org := h.createOrg("Org", "")
		uid := h.createUser(org, "a@example.com", "ext-a")
		h.createUser(org, "b@example.com", "ext-b")
		status, body := h.rest("PATCH", "/api/v1/users/"+uid, `{"external_id":"ext-b","user_profile":{"first_name":"X"}}`)
		wantREST(t, status, body, http.StatusConflict, "ALREADY_EXISTS", "external_id")
		status, body = h.rest("PATCH", "/api/v1/users/"+uid, `{"user_profile":{"first_name":"X","picture":"not a url"}}`)
		wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "picture")
		if u := h.getUser(uid); u.GetExternalId() != "ext-a" || u.GetUserProfile().GetFirstName() != "" {
			t.Errorf("rejected updates changed the user: %v", u)
		}
	})
}

func TestDeleteUserRemovesTheUserAndTheirMemberships(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		org := h.createOrg("Org", "")
		uid := h.createUser(org, "gone@example.com", "ext-gone")
		h.mustREST("DELETE", "/api/v1/users/"+uid, "")
		status, body := h.rest("GET", "/api/v1/users/"+uid, "")
		wantREST(t, status, body, http.StatusNotFound, "NOT_FOUND")
		if out := h.mustREST("GET", "/api/v1/organizations/"+org+"/users", ""); num(out, "total_size") != 0 {
			t.Errorf("the organization still lists the deleted user: %v", out)
		}
		// Email and external id are free again.
		h.createUser(org, "gone@example.com", "ext-gone")
		_, err := h.grpcUsers.DeleteUser(ctx, connect.NewRequest(&usersv1.DeleteUserRequest{
			Identities: &usersv1.DeleteUserRequest_Id{Id: uid}}))
		wantRPC(t, err, connect.CodeNotFound)
	})
}

func TestCreateMembershipAddsAnExistingUserToAnotherOrganization(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		a := h.createOrg("A", "")
		b := h.createOrg("B", "org-b")
		uid := h.createUser(a, "u@example.com", "ext-u")
		resp, err := h.grpcUsers.CreateMembership(ctx, connect.NewRequest(&usersv1.CreateMembershipRequest{
			OrganizationId: "org-b", Identities: &usersv1.CreateMembershipRequest_ExternalId{ExternalId: "ext-u"},
			Membership: &usersv1.CreateMembership{Roles: []*commonsv1.Role{{Name: "admin"}}, Metadata: map[string]string{"k": "v"}},
		}))
		if err != nil {
			t.Fatalf("CreateMembership: %v", err)
		}
		m := membershipIn(resp.Msg.GetUser(), b)
		if m == nil || m.GetMembershipStatus() != commonsv1.MembershipStatus_PENDING_INVITE || !equal(roleNamesOf(m), []string{"admin"}) ||
			m.GetMetadata()["k"] != "v" || m.GetExpiresAt() == nil {
			t.Errorf("membership in B: %v", m)
		}
		if len(h.getUser(uid).GetMemberships()) != 2 {
			t.Errorf("user has %d memberships, want 2", len(h.getUser(uid).GetMemberships()))
		}
		if mail := h.outboxTo("u@example.com"); len(mail) != 1 || !strings.Contains(mail[0].Subject, "B") {
			t.Errorf("invitation to B: %+v", mail)
		}
		// A second membership in the same organization is a conflict.
		status, body := h.rest("POST", "/api/v1/memberships/organizations/"+b+"/users/"+uid, `{"roles":["member"]}`)
		wantREST(t, status, body, http.StatusConflict, "ALREADY_EXISTS", "organization_id")
		if msg := str(body, "message"); !strings.Contains(msg, "already a member") {
			t.Errorf("message %q does not say the user is already a member", msg)
		}
		if m := membershipIn(h.getUser(uid), b); !equal(roleNamesOf(m), []string{"admin"}) {
			t.Errorf("a rejected membership changed the roles to %v", roleNamesOf(m))
		}
	})
}

func TestUpdateMembershipReplacesTheRoles(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		org := h.createOrg("Org", "")
		uid := h.createUser(org, "u@example.com", "", "admin")
		out := h.mustREST("PATCH", "/api/v1/memberships/organizations/"+org+"/users/"+uid, `{"roles":["member"]}`)
		if r := list(out, "user.memberships.0.roles"); len(r) != 1 || str(r[0], "name") != "member" {
			t.Errorf("response roles %v, want [member]", r)
		}
		if got := roleNamesOf(membershipIn(h.getUser(uid), org)); !equal(got, []string{"member"}) {
			t.Errorf("roles read back %v, want [member] (replaced, not added)", got)
		}
		resp, err := h.grpcUsers.UpdateMembership(ctx, connect.NewRequest(&usersv1.UpdateMembershipRequest{
			OrganizationId: org, Identities: &usersv1.UpdateMembershipRequest_Id{Id: uid},
			Membership: &usersv1.UpdateMembership{Roles: []*commonsv1.Role{{Name: "admin"}, {Name: "member"}}}}))
		if err != nil || !equal(roleNamesOf(membershipIn(resp.Msg.GetUser(), org)), []string{"admin", "member"}) {
			t.Errorf("gRPC UpdateMembership: %v %v", resp, err)
		}
	})
}

func TestUpdateMembershipWithAnUnknownRoleChangesNothing(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		org := h.createOrg("Org", "")
		uid := h.createUser(org, "u@example.com", "", "admin")
		status, body := h.rest("PATCH", "/api/v1/memberships/organizations/"+org+"/users/"+uid, `{"roles":["member","owner"]}`)
		e := wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "roles")
		if v := findViolation(e.Violations, "roles"); v != nil && !strings.Contains(v.Description, "owner") {
			t.Errorf("violation %q does not name the role", v.Description)
		}
		if got := roleNamesOf(membershipIn(h.getUser(uid), org)); !equal(got, []string{"admin"}) {
			t.Errorf("roles %v after a rejected update, want [admin]", got)
		}
	})
}

func TestDeleteMembershipKeepsTheUser(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		org := h.createOrg("Org", "")
		uid := h.createUser(org, "u@example.com", "")
		h.mustREST("DELETE", "/api/v1/memberships/organizations/"+org+"/users/"+uid, "")
		if ms := h.getUser(uid).GetMemberships(); len(ms) != 0 {
			t.Errorf("memberships after delete: %v", ms)
		}
		_, err := h.grpcUsers.DeleteMembership(ctx, connect.NewRequest(&usersv1.DeleteMembershipRequest{
			OrganizationId: org, Identities: &usersv1.DeleteMembershipRequest_Id{Id: uid}}))
		wantRPC(t, err, connect.CodeNotFound)
	})
}

func TestResendInviteRenewsThePendingInvitationAndSendsAnotherEmail(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.mustREST("POST", "/api/v1/organizations", guideOrgBody)
		u := get(h.mustREST("POST", "/api/v1/organizations/org_123/users", guideUserBody), "user")
		uid, org := str(u, "id"), str(u, "memberships.0.organization_id")
		for want := 1; want <= 2; want++ {
			out := h.mustREST("PATCH", "/api/v1/invites/organizations/"+org+"/users/"+uid+"/resend", `{}`)
			inv := get(out, "invite")
			if num(inv, "resent_count") != want || str(inv, "status") != "PENDING_INVITE" || str(inv, "resent_at") == "" ||
				str(inv, "expires_at") == "" || str(inv, "user_id") != uid {
				t.Errorf("resend %d: %v", want, inv)
			}
			if mail := h.outboxTo("user@example.com"); len(mail) != want+1 {
				t.Errorf("after resend %d the outbox has %d invitations, want %d", want, len(mail), want+1)
			}
		}
		resp, err := h.grpcUsers.ResendInvite(ctx, connect.NewRequest(&usersv1.ResendInviteRequest{OrganizationId: "org_123", Id: uid}))
		if err != nil || resp.Msg.GetInvite().GetResentCount() != 3 {
			t.Errorf("gRPC ResendInvite: %v %v", resp, err)
		}
	})
}

func TestResendInviteOnAnActiveMembershipFailsPrecondition(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		org := h.createOrg("Org", "")
		uid := h.createUser(org, "active@example.com", "")
		status, body := h.rest("PATCH", "/api/v1/invites/organizations/"+org+"/users/"+uid+"/resend", `{}`)
		wantREST(t, status, body, http.StatusBadRequest, "FAILED_PRECONDITION")
		_, err := h.grpcUsers.ResendInvite(ctx, connect.NewRequest(&usersv1.ResendInviteRequest{OrganizationId: org, Id: uid}))
		wantRPC(t, err, connect.CodeFailedPrecondition)
		if mail := h.outboxTo("active@example.com"); len(mail) != 0 {
			t.Errorf("outbox has %+v for an active member", mail)
		}
	})
}

func TestInvitationNamesTheInviter(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.mustREST("POST", "/api/v1/organizations", guideOrgBody)
		h.mustREST("POST", "/api/v1/organizations/org_123/users",
			`{"email":"new@example.com","membership":{"roles":["member"],"inviter_email":"boss@example.com"}}`)
		mail := h.outboxTo("new@example.com")
		if len(mail) != 1 || !strings.Contains(mail[0].Body, "boss@example.com has invited you to join Megasoft Inc.") {
			t.Errorf("invitation %+v does not name the inviter", mail)
		}
	})
}
