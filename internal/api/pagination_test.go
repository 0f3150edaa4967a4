package api_test

// Page tokens: opaque, tamper-proof, bound to their list, and stable while
// rows are being inserted.

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"connectrpc.com/connect"

	organizationsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations"
)

// flip changes one character of s in its middle.
func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func (h *harness) orgPage(size int, token string) (ids []string, next string, total int) {
	h.t.Helper()
	out := h.mustREST("GET", "/api/v1/organizations?page_size="+strconv.Itoa(size)+"&page_token="+url.QueryEscape(token), "")
	for _, o := range list(out, "organizations") {
		ids = append(ids, str(o, "id"))
	}
	return ids, str(out, "next_page_token"), num(out, "total_size")
}

func TestPageTokensAreTamperProof(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		for range 3 {
			h.createOrg("Org", "")
		}
		_, token, _ := h.orgPage(1, "")
		if token == "" {
			t.Fatal("no next_page_token with 3 organizations and page_size 1")
		}
		for _, bad := range []string{flip(token), token[:len(token)-2], "x" + token, "not-a-token"} {
			status, body := h.rest("GET", "/api/v1/organizations?page_size=1&page_token="+url.QueryEscape(bad), "")
			wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "page_token")
		}
		_, err := h.grpcOrgs.ListOrganization(ctx, connect.NewRequest(&organizationsv1.ListOrganizationsRequest{PageSize: 1, PageToken: flip(token)}))
		wantRPC(t, err, connect.CodeInvalidArgument, "page_token")
	})
}

func TestPageTokenFromAnotherListIsRejected(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		org := h.createOrg("Org", "ext-1")
		h.createOrg("Org 2", "")
		h.createUser(org, "a@example.com", "")
		h.createUser(org, "b@example.com", "")
		users := h.mustREST("GET", "/api/v1/users?page_size=1", "")
		userToken := str(users, "next_page_token")
		if userToken == "" {
			t.Fatal("no users next_page_token")
		}
		status, body := h.rest("GET", "/api/v1/organizations?page_size=1&page_token="+url.QueryEscape(userToken), "")
		wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "page_token")

		// A token is bound to its filter too: the organization list's token
		// does not page a search, nor one organization's users.
		_, orgToken, _ := h.orgPage(1, "")
		status, body = h.rest("GET", "/api/v1/organizations:search?query=org&page_size=1&page_token="+url.QueryEscape(orgToken), "")
		wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "page_token")
		status, body = h.rest("GET", "/api/v1/organizations/"+org+"/users?page_size=1&page_token="+url.QueryEscape(userToken), "")
		wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "page_token")
	})
}

func TestPaginationIsStableUnderConcurrentInserts(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		var first []string
		for range 5 {
			first = append(first, h.createOrg("Before", ""))
		}
		page1, token, total := h.orgPage(2, "")
		if total != 5 || !equal(page1, first[:2]) {
			t.Fatalf("page 1: %v (total %d), want %v", page1, total, first[:2])
		}
		var later []string
		for range 3 {
			later = append(later, h.createOrg("During", ""))
		}
		got := page1
		for token != "" {
			var ids []string
			ids, token, total = h.orgPage(2, token)
			got = append(got, ids...)
			if len(got) > 20 {
				t.Fatal("pagination does not end")
			}
		}
		want := append(append([]string{}, first...), later...)
		if !equal(got, want) {
			t.Errorf("paged through %v, want %v: no skips, no repeats, new rows at the end", got, want)
		}
		if total != 8 {
			t.Errorf("total_size on the last page %d, want 8", total)
		}
	})
}
