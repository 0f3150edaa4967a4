package login_test

import (
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// TestPagesAccessible: every visible input of every step has a label
// (label for=id), the standard autocomplete tokens are there, the page
// declares its language and a viewport, and there is no script at all.
func TestPagesAccessible(t *testing.T) {
	f := newFx(t, false, nil)
	f.user(f.orgID, "a11y@acme.example", "a fine password", false)
	b := f.browser()
	email := b.authorize(newAuthz())
	password := b.submit(email, "/login/email", map[string]string{"email": "a11y@acme.example"})
	code := b.submit(password, "/login/code/send", nil)
	forgot := b.get("/login/forgot")
	tokens := map[string]bool{}
	for _, p := range []*page{email, password, code, forgot} {
		labels := map[string]bool{}
		walk(p.doc, func(n *html.Node) bool {
			if n.Type == html.ElementNode && n.Data == "label" {
				labels[attr(n, "for")] = true
			}
			if n.Type == html.ElementNode && n.Data == "script" {
				t.Errorf("%s: a script element", p.url.Path)
			}
			return true
		})
		walk(p.doc, func(n *html.Node) bool {
			if n.Type == html.ElementNode && n.Data == "input" && attr(n, "type") != "hidden" {
				if attr(n, "id") == "" || !labels[attr(n, "id")] {
					t.Errorf("%s: input %s has no label", p.url.Path, attr(n, "name"))
				}
				tokens[attr(n, "autocomplete")] = true
			}
			return true
		})
		if !strings.Contains(p.body, `<html lang="en">`) || !strings.Contains(p.body, `name="viewport"`) {
			t.Errorf("%s: no lang or viewport", p.url.Path)
		}
	}
	for _, want := range []string{"email", "current-password", "one-time-code", "username"} {
		if !tokens[want] {
			t.Errorf("no input with autocomplete=%s", want)
		}
	}
}

// TestAssets: the stylesheet is served under a content-hash URL with a
// year of caching; another hash is 404.
func TestAssets(t *testing.T) {
	f := newFx(t, false, nil)
	p := f.browser().authorize(newAuthz())
	var href string
	walk(p.doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == "link" && attr(n, "rel") == "stylesheet" {
			href = attr(n, "href")
		}
		return href == ""
	})
	if !strings.HasPrefix(href, "/login/assets/") || !strings.HasSuffix(href, "/login.css") {
		t.Fatalf("stylesheet href %q", href)
	}
	resp, err := http.Get(f.in.URL + href)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age=31536000") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("stylesheet: %d %v", resp.StatusCode, resp.Header)
	}
	resp, err = http.Get(f.in.URL + "/login/assets/0000000000000000/login.css")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a wrong hash: %d", resp.StatusCode)
	}
}

// TestS03SignedOutSessionNeedsLogin: a revoked session's cookie no longer
// signs in; the login page is shown again.
func TestS03SignedOutSessionNeedsLogin(t *testing.T) {
	f := newFx(t, false, nil)
	uid := f.user(f.orgID, "s03@acme.example", "a fine password", false)
	b := f.browser()
	a := newAuthz()
	b.callback(b.signInWithPassword(a, "s03@acme.example", "a fine password"), a)
	for _, s := range liveSessions(t, f, uid) {
		if _, err := f.in.Server.Sessions.Revoke(f.ctx, s.ID, "logout"); err != nil {
			t.Fatal(err)
		}
	}
	if p := b.authorize(newAuthz()); !p.has("/login/email") {
		t.Fatalf("a revoked session still signs in: %d %s", p.status, p.location)
	}
}
