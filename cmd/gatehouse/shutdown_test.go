package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// heldRequest is a POST /api/v1/organizations the server has started
// handling but cannot finish: its headers carry Expect: 100-continue, the
// server answered "100 Continue" (so a handler is reading the body), and
// the body has not been sent yet.
type heldRequest struct {
	conn net.Conn
	r    *bufio.Reader
	body string
	name string
}

func holdRequest(t *testing.T, addr, tok, name string) *heldRequest {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(45 * time.Second))
	h := &heldRequest{conn: conn, r: bufio.NewReader(conn), name: name, body: fmt.Sprintf(`{"display_name":%q}`, name)}
	fmt.Fprintf(conn, "POST /api/v1/organizations HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", addr, tok, len(h.body))
	resp, err := http.ReadResponse(h.r, nil)
	if err != nil {
		t.Fatalf("waiting for 100 Continue: %v", err)
	}
	if resp.StatusCode != http.StatusContinue {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("held request got %d %s before sending its body, want 100 Continue", resp.StatusCode, b)
	}
	return h
}

// finish sends the body and returns the final response's status and body.
func (h *heldRequest) finish(t *testing.T) (int, string) {
	t.Helper()
	if _, err := io.WriteString(h.conn, h.body); err != nil {
		t.Errorf("held request %q: sending the body: %v", h.name, err)
		return 0, ""
	}
	resp, err := http.ReadResponse(h.r, nil)
	if err != nil {
		t.Errorf("held request %q was dropped: %v", h.name, err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("held request %q: reading the response: %v", h.name, err)
	}
	return resp.StatusCode, string(b)
}

// waitRefused waits until addr stops accepting connections: the server has
// begun its graceful stop.
func waitRefused(t *testing.T, addr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		conn.Close()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s still accepts connections %s after the signal", addr, within)
}

// TestSIGTERMDrainsInFlightRequests holds requests in flight and runs a
// stream of others while SIGTERM arrives: every request the server took
// completes, then the process exits 0.
func TestSIGTERMDrainsInFlightRequests(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	base := "http://" + addr
	p := start(t, dir, nil, "serve", "--addr", addr)
	p.waitHealthy(t, base)
	b := parseBanner(t, p.stdout.String())
	tok := token(t, base, b.ClientID, b.Secret)

	const held = 8
	reqs := make([]*heldRequest, held)
	for i := range reqs {
		reqs[i] = holdRequest(t, addr, tok, fmt.Sprintf("Drained %d", i))
	}

	// A stream of GETs on fresh connections, running when the signal comes.
	var (
		mu               sync.Mutex
		statuses         = map[int]int{}
		netErrs          []string
		wg               sync.WaitGroup
		stop             = make(chan struct{})
		enough           = make(chan struct{}) // the stream has had 40 answers
		enoughOnce       sync.Once
		answered         int
		barrageTransport = &http.Transport{DisableKeepAlives: true}
	)
	barrage := &http.Client{Transport: barrageTransport, Timeout: 30 * time.Second}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/organizations", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := barrage.Do(req)
				if err != nil {
					mu.Lock()
					netErrs = append(netErrs, err.Error())
					mu.Unlock()
					return // the listener is closing; later dials are refused
				}
				_, rerr := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				if rerr != nil {
					netErrs = append(netErrs, "reading a response body: "+rerr.Error())
				}
				answered++
				if answered >= 40 {
					enoughOnce.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		}()
	}
	select {
	case <-enough:
	case <-time.After(20 * time.Second):
		t.Fatal("the request stream got fewer than 40 answers within 20s")
	}

	p.signal(t, syscall.SIGTERM)
	waitRefused(t, addr, 15*time.Second)
	if p.exited() {
		t.Fatalf("gatehouse exited with %d requests still in flight", held)
	}
	for _, h := range reqs {
		code, body := h.finish(t)
		if code != http.StatusOK || !strings.Contains(body, h.name) {
			t.Errorf("in-flight request %q finished with %d %s, want 200 with the organization", h.name, code, body)
		}
	}
	close(stop)
	wg.Wait()
	barrageTransport.CloseIdleConnections()

	p.wantExit(t, 0, 20*time.Second)
	wantLog(t, p.stderr.String(), "gatehouse stopped")

	mu.Lock()
	for code, n := range statuses {
		if code != http.StatusOK {
			t.Errorf("%d requests taken by the server answered %d, want 200", n, code)
		}
	}
	for _, e := range netErrs {
		// Refused: the listener was closed. Reset/EOF on a fresh connection:
		// it was still in the kernel's accept queue when the listener closed,
		// so the server never took it.
		if !strings.Contains(e, "connection refused") && !strings.Contains(e, "connection reset") &&
			!strings.Contains(e, "EOF") && !strings.Contains(e, "broken pipe") {
			t.Errorf("request stream: unexpected error %s", e)
		}
	}
	t.Logf("request stream: %v responses, %d refused or never accepted", statuses, len(netErrs))
	mu.Unlock()

	// What the drained requests wrote was committed before the database
	// closed.
	p2 := start(t, dir, nil, "serve", "--addr", addr)
	p2.waitHealthy(t, base)
	code, body := get(t, base+"/api/v1/organizations?page_size=100", token(t, base, b.ClientID, b.Secret))
	if code != http.StatusOK {
		t.Fatalf("GET /api/v1/organizations = %d %s", code, body)
	}
	var list struct {
		Organizations []struct {
			DisplayName string `json:"display_name"`
		} `json:"organizations"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, o := range list.Organizations {
		got[o.DisplayName] = true
	}
	for _, h := range reqs {
		if !got[h.name] {
			t.Errorf("organization %q created during the drain is missing after a restart", h.name)
		}
	}
	p2.signal(t, syscall.SIGTERM)
	p2.wantExit(t, 0, 15*time.Second)
}

// TestSIGINT is Ctrl-C on `gatehouse serve --dev`.
func TestSIGINT(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	base := "http://" + addr
	p := start(t, dir, nil, "serve", "--addr", addr, "--dev")
	p.waitHealthy(t, base)
	if code, body := get(t, base+"/_dev/outbox", ""); code != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(body), "[") {
		t.Errorf("--dev: GET /_dev/outbox = %d %s, want 200 and a JSON list", code, body)
	}
	// The legacy alias is gone, in --dev too.
	if code, body := get(t, base+"/dev/outbox", ""); code != http.StatusNotFound {
		t.Errorf("--dev: GET /dev/outbox = %d %s, want 404", code, body)
	}
	p.signal(t, os.Interrupt)
	p.wantExit(t, 0, 15*time.Second)
	wantLog(t, p.stderr.String(), "gatehouse stopped")
}

// TestSecondSignalStopsAtOnce: while a graceful stop waits for a request
// that will not finish, a second signal ends the process without waiting
// out --shutdown-timeout.
func TestSecondSignalStopsAtOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	base := "http://" + addr
	p := start(t, dir, nil, "serve", "--addr", addr, "--shutdown-timeout", "5m")
	p.waitHealthy(t, base)
	b := parseBanner(t, p.stdout.String())
	holdRequest(t, addr, token(t, base, b.ClientID, b.Secret), "Never finished")

	p.signal(t, syscall.SIGTERM)
	waitRefused(t, addr, 15*time.Second)
	time.Sleep(200 * time.Millisecond)
	if p.exited() {
		t.Fatal("gatehouse exited without waiting for the in-flight request")
	}
	p.signal(t, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("a second SIGTERM did not end the process within 10s")
	}
	var ee interface{ ExitCode() int }
	if !errors.As(p.err, &ee) || ee.ExitCode() == 0 {
		t.Errorf("process ended with %v, want killed by the second signal", p.err)
	}
}
