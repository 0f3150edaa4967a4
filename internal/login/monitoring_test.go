package login_test

// Point 10 of the login issue: every sign-in attempt is counted on
// /metrics and written to the authentication log, which the management
// API lists (REST and gRPC) with filters and pages.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	auditlogsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/auditlogs"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/auditlogs/auditlogsv1connect"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// metric reads one sample from /metrics; a series that is absent is -1.
func (f *fx) metric(name, labels string) float64 {
	f.t.Helper()
	resp, err := http.Get(f.in.URL + "/metrics")
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	series := name
	if labels != "" {
		series += "{" + labels + "}"
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(string(b))
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func (f *fx) logins(method, outcome string) float64 {
	return f.metric("gatehouse_logins_total", `method="`+method+`",outcome="`+outcome+`"`)
}

func (f *fx) grants(gt, outcome string) float64 {
	return f.metric("gatehouse_token_grants_total", `grant_type="`+gt+`",outcome="`+outcome+`"`)
}

// postToken calls the token endpoint as the bootstrap client.
func (f *fx) postToken(form url.Values) (int, map[string]any) {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.in.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(servertest.ClientID, servertest.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body := map[string]any{}
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &body)
	return resp.StatusCode, body
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestLoginAndGrantCounters(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		for _, s := range [][2]string{{"password", "success"}, {"otp", "throttled"}, {"magic_link", "failure"}, {"signup", "success"}} {
			if v := f.logins(s[0], s[1]); v != 0 {
				t.Errorf("before any sign-in: logins{%s,%s} = %v, want 0", s[0], s[1], v)
			}
		}
		f.user(f.orgID, "alice@example.com", "correct horse battery", false)
		f.user(f.orgID, "bob@example.com", "", false)
		f.user(f.orgID, "carol@example.com", "another fine password", false)

		// One wrong password, then a right one that ends at the app.
		f.browser().signInWithPassword(newAuthz(), "alice@example.com", "not the password")
		a := newAuthz()
		b := f.browser()
		p := b.signInWithPassword(a, "alice@example.com", "correct horse battery")
		b.toApp(p)
		tokens, _ := f.tokens(b.callback(p, a), a)

		// A code: one wrong, then the right one.
		b2 := f.browser()
		p = b2.authorize(newAuthz())
		p = b2.submit(p, "/login/email", map[string]string{"email": "bob@example.com"})
		p = b2.submit(p, "/login/code", map[string]string{"code": "000000"})
		if p.status != http.StatusBadRequest {
			t.Fatalf("wrong code: %d", p.status)
		}
		b2.toApp(b2.submit(p, "/login/code", map[string]string{"code": f.lastCode("bob@example.com")}))

		// Wrong passwords until throttled (5 free failures per account).
		b3 := f.browser()
		p = b3.signInWithPassword(newAuthz(), "carol@example.com", "wrong 0")
		for i := 1; i < 6 && p.status != http.StatusTooManyRequests; i++ {
			p = b3.submit(p, "/login/password", map[string]string{"password": fmt.Sprintf("wrong %d", i)})
		}
		if p.status != http.StatusTooManyRequests {
			t.Fatalf("want throttling after repeated failures, got %d", p.status)
		}

		for _, c := range []struct {
			method, outcome string
			want            float64
		}{
			{"password", "success", 1}, {"password", "failure", 6}, {"password", "throttled", 1},
			{"otp", "success", 1}, {"otp", "failure", 1}, {"magic_link", "success", 0},
		} {
			if got := f.logins(c.method, c.outcome); got != c.want {
				t.Errorf("gatehouse_logins_total{method=%q,outcome=%q} = %v, want %v", c.method, c.outcome, got, c.want)
			}
		}

		// Grants: the code exchange above; a bad code; a refresh, then the
		// used refresh token again (after the grace period): reuse.
		if got := f.grants("authorization_code", "success"); got != 1 {
			t.Errorf("authorization_code success = %v, want 1", got)
		}
		if code, _ := f.postToken(url.Values{"grant_type": {"authorization_code"}, "code": {"nope"}, "redirect_uri": {appCB}}); code != 400 {
			t.Errorf("bad code: %d", code)
		}
		if got := f.grants("authorization_code", "failure"); got != 1 {
			t.Errorf("authorization_code failure = %v, want 1", got)
		}
		rt, _ := tokens["refresh_token"].(string)
		if code, body := f.postToken(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}); code != 200 {
			t.Fatalf("refresh: %d %v", code, body)
		}
		if v := f.metric("gatehouse_refresh_token_reuse_total", ""); v != 0 {
			t.Errorf("reuse before any = %v, want 0", v)
		}
		f.advance(3 * time.Second)
		if code, _ := f.postToken(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}); code != 400 {
			t.Errorf("reused refresh token: %d, want 400", code)
		}
		if v := f.metric("gatehouse_refresh_token_reuse_total", ""); v != 1 {
			t.Errorf("gatehouse_refresh_token_reuse_total = %v, want 1", v)
		}
		if s, fl := f.grants("refresh_token", "success"), f.grants("refresh_token", "failure"); s != 1 || fl != 1 {
			t.Errorf("refresh_token grants = %v success, %v failure; want 1 and 1", s, fl)
		}
		f.in.Token(t) // client_credentials
		f.postToken(url.Values{"grant_type": {"password"}})
		if s, o := f.grants("client_credentials", "success"), f.grants("other", "failure"); s < 1 || o != 1 {
			t.Errorf("client_credentials success = %v, other failure = %v", s, o)
		}
	})
}

func TestAuthenticationLog(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		f.user(f.orgID, "alice@example.com", "correct horse battery", false)
		f.user(f.orgID, "bob@example.com", "", false)
		start := f.clk.Now()
		f.browser().signInWithPassword(newAuthz(), "Alice@Example.com", "not the password")
		f.advance(time.Minute)
		mid := f.clk.Now()
		a := newAuthz()
		b := f.browser()
		b.toApp(b.signInWithPassword(a, "alice@example.com", "correct horse battery"))
		f.advance(time.Minute)
		b2 := f.browser()
		b2.toApp(b2.signInWithCode(newAuthz(), "bob@example.com"))
		aliceID := f.getUserByEmail("alice@example.com")

		tok := f.in.Token(t)
		list := func(q string) (int, map[string]any) {
			t.Helper()
			return f.in.Do(t, tok, "GET", "/api/v1/logs/authentication/requests"+q, "")
		}
		code, body := list("")
		reqs, _ := body["authRequests"].([]any)
		if code != 200 || len(reqs) != 3 || body["total_size"] != float64(3) {
			t.Fatalf("list all: %d %v", code, body)
		}
		// Newest first: bob's code, alice's success, alice's failure.
		first, last := reqs[0].(map[string]any), reqs[2].(map[string]any)
		if first["connection_type"] != "OTP" || first["status"] != "SUCCESS" || first["connected_account_identifier"] != sha("bob@example.com") {
			t.Errorf("newest = %v, want bob's OTP success", first)
		}
		if last["connection_type"] != "PASSWORD" || last["status"] != "FAILURE" || last["connected_account_identifier"] != sha("alice@example.com") ||
			last["resource_name"] != "127.0.0.1" || last["resource_id"] != aliceID || last["client_id"] != servertest.ClientID ||
			last["auth_request_id"] == nil || last["workflow"] != "LOGIN" || last["email"] != "" {
			t.Errorf("oldest = %v, want alice's password failure with hash, IP, user, client and auth request", last)
		}

		for _, c := range []struct {
			q    string
			want int
		}{
			{"?email=ALICE@example.com", 2},
			{"?email=nobody@example.com", 0},
			{"?status=FAILURE", 1},
			{"?status=SUCCESS", 2},
			{"?status=SUCCESS&status=FAILURE", 3},
			{"?email=alice@example.com&status=SUCCESS", 1},
			{"?start_time=" + url.QueryEscape(mid.Format(time.RFC3339Nano)), 2},
			{"?end_time=" + url.QueryEscape(mid.Format(time.RFC3339Nano)), 1},
			{"?start_time=" + url.QueryEscape(start.Format(time.RFC3339Nano)) + "&end_time=" + url.QueryEscape(mid.Add(time.Second).Format(time.RFC3339Nano)), 2},
			{"?client_id=" + servertest.ClientID, 3},
		} {
			code, body := list(c.q)
			reqs, _ := body["authRequests"].([]any)
			if code != 200 || len(reqs) != c.want {
				t.Errorf("list %s: %d, %d entries (%v), want %d", c.q, code, len(reqs), body, c.want)
			}
		}
		if code, body := list("?status=MAYBE"); code != 400 {
			t.Errorf("bad status: %d %v, want 400", code, body)
		}

		// Paging: one at a time, in order, each token bound to its filter.
		var ids []string
		q := "?page_size=1"
		for range 5 {
			code, body := list(q)
			if code != 200 {
				t.Fatalf("page %s: %d %v", q, code, body)
			}
			for _, r := range body["authRequests"].([]any) {
				ids = append(ids, r.(map[string]any)["connected_account_identifier"].(string)+"/"+r.(map[string]any)["status"].(string))
			}
			next, _ := body["next_page_token"].(string)
			if next == "" {
				break
			}
			if code, _ := list("?page_size=1&status=SUCCESS&page_token=" + url.QueryEscape(next)); code != 400 {
				t.Errorf("a page token used with another filter: %d, want 400", code)
			}
			q = "?page_size=1&page_token=" + url.QueryEscape(next)
		}
		want := []string{sha("bob@example.com") + "/SUCCESS", sha("alice@example.com") + "/SUCCESS", sha("alice@example.com") + "/FAILURE"}
		if strings.Join(ids, ",") != strings.Join(want, ",") {
			t.Errorf("pages = %v, want %v", ids, want)
		}

		// gRPC, with the same filters.
		client := auditlogsv1connect.NewAuditLogsServiceClient(grpcClient(), f.in.URL, connect.WithGRPC())
		req := connect.NewRequest(&auditlogsv1.ListAuthLogRequest{Email: "alice@example.com", Status: []string{"success"},
			StartTime: timestamppb.New(start)})
		req.Header().Set("Authorization", "Bearer "+tok)
		resp, err := client.ListAuthRequests(context.Background(), req)
		if err != nil {
			t.Fatalf("gRPC ListAuthRequests: %v", err)
		}
		if got := resp.Msg.GetAuthRequests(); len(got) != 1 || got[0].GetResourceId() != aliceID || got[0].GetTimestamp().AsTime().Before(mid) {
			t.Errorf("gRPC list = %v", got)
		}
	})
}

// grpcClient speaks gRPC over h2c, as the official SDKs do.
func grpcClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p}}
}

func (f *fx) getUserByEmail(email string) string {
	f.t.Helper()
	u, err := f.in.Server.Accounts.UserByEmail(f.ctx, email)
	if err != nil {
		f.t.Fatal(err)
	}
	return u.ID
}
