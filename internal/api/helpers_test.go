package api_test

// Shared helpers for the black-box API suite: a harness holding a running
// server, a token and clients for the three transports, plus small tools to
// read JSON and to assert on ErrorInfo details.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"connectrpc.com/connect"

	errdetailsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/errdetails"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations/organizationsv1connect"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/users/usersv1connect"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// harness is one running server with a management token and a client per
// transport.
type harness struct {
	*servertest.Instance
	t     *testing.T
	token string
	// gRPC over h2c, binary protobuf: what the official SDKs speak.
	grpcOrgs  organizationsv1connect.OrganizationServiceClient
	grpcUsers usersv1connect.UserServiceClient
	// Connect protocol, binary protobuf.
	connectOrgs  organizationsv1connect.OrganizationServiceClient
	connectUsers usersv1connect.UserServiceClient
	// Connect protocol, JSON.
	jsonOrgs  organizationsv1connect.OrganizationServiceClient
	jsonUsers usersv1connect.UserServiceClient
}

// each runs fn against a default server on SQLite and on PostgreSQL.
func each(t *testing.T, fn func(t *testing.T, h *harness)) {
	eachWith(t, servertest.Options{}, fn)
}

func eachWith(t *testing.T, o servertest.Options, fn func(t *testing.T, h *harness)) {
	t.Parallel() // every test has servers and databases of its own
	servertest.Each(t, o, func(t *testing.T, in *servertest.Instance) {
		fn(t, newHarness(t, in, in.Token(t)))
	})
}

func newHarness(t *testing.T, in *servertest.Instance, token string) *harness {
	h := &harness{Instance: in, t: t, token: token}
	auth := connect.WithInterceptors(bearer(token))
	h2c := h2cClient()
	// Closing the h2c connection first spares the server's shutdown the
	// second HTTP/2 waits after GOAWAY for a client that never hangs up.
	t.Cleanup(h2c.CloseIdleConnections)
	h.grpcOrgs = organizationsv1connect.NewOrganizationServiceClient(h2c, in.URL, connect.WithGRPC(), auth)
	h.grpcUsers = usersv1connect.NewUserServiceClient(h2c, in.URL, connect.WithGRPC(), auth)
	h.connectOrgs = organizationsv1connect.NewOrganizationServiceClient(http.DefaultClient, in.URL, auth)
	h.connectUsers = usersv1connect.NewUserServiceClient(http.DefaultClient, in.URL, auth)
	h.jsonOrgs = organizationsv1connect.NewOrganizationServiceClient(http.DefaultClient, in.URL, connect.WithProtoJSON(), auth)
	h.jsonUsers = usersv1connect.NewUserServiceClient(http.DefaultClient, in.URL, connect.WithProtoJSON(), auth)
	return h
}

// h2cClient speaks HTTP/2 with prior knowledge over cleartext, as gRPC
// clients do on http:// URLs.
func h2cClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p}}
}

// bearer adds Authorization: Bearer token to every call (none if empty).
func bearer(token string) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if token != "" {
				req.Header().Set("Authorization", "Bearer "+token)
			}
			return next(ctx, req)
		}
	}
}

// rpcClients is one transport's pair of clients, for table-driven tests.
type rpcClients struct {
	name  string
	orgs  organizationsv1connect.OrganizationServiceClient
	users usersv1connect.UserServiceClient
}

func (h *harness) transports() []rpcClients {
	return []rpcClients{
		{"grpc", h.grpcOrgs, h.grpcUsers},
		{"connect", h.connectOrgs, h.connectUsers},
		{"connect+json", h.jsonOrgs, h.jsonUsers},
	}
}

// rest sends a REST request with the harness token and returns the status
// and the decoded JSON object.
func (h *harness) rest(method, path, body string) (int, map[string]any) {
	h.t.Helper()
	return h.Do(h.t, h.token, method, path, body)
}

// mustREST is rest that fails the test unless the status is 200.
func (h *harness) mustREST(method, path, body string) map[string]any {
	h.t.Helper()
	status, out := h.rest(method, path, body)
	if status != http.StatusOK {
		h.t.Fatalf("%s %s: status %d, body %v", method, path, status, out)
	}
	return out
}

// raw sends a request and returns the response (body read into the
// returned bytes), for tests that look at headers or odd bodies.
func (h *harness) raw(req *http.Request) (*http.Response, []byte) {
	h.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp, b
}

func (h *harness) newRequest(method, path string, body io.Reader) *http.Request {
	h.t.Helper()
	req, err := http.NewRequest(method, h.URL+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+h.token)
	return req
}

// createOrg makes an organization over REST and returns its id.
func (h *harness) createOrg(name, externalID string) string {
	h.t.Helper()
	body := map[string]any{"display_name": name}
	if externalID != "" {
		body["external_id"] = externalID
	}
	out := h.mustREST("POST", "/api/v1/organizations", jsonString(h.t, body))
	return str(out, "organization.id")
}

// createUser makes a user with an ACTIVE membership in org over REST and
// returns the user id.
func (h *harness) createUser(org, email, externalID string, roles ...string) string {
	h.t.Helper()
	user := map[string]any{"email": email}
	if externalID != "" {
		user["external_id"] = externalID
	}
	if len(roles) > 0 {
		user["membership"] = map[string]any{"roles": roles}
	}
	out := h.mustREST("POST", "/api/v1/organizations/"+org+"/users?send_invitation_email=false", jsonString(h.t, user))
	return str(out, "user.id")
}

// counts returns how many organizations and users the environment has.
func (h *harness) counts() (orgs, users int) {
	h.t.Helper()
	o := h.mustREST("GET", "/api/v1/organizations?page_size=1", "")
	u := h.mustREST("GET", "/api/v1/users?page_size=1", "")
	return num(o, "total_size"), num(u, "total_size")
}

// wantCounts fails unless the environment still has orgs organizations and
// users users: proof that a failed request wrote nothing.
func (h *harness) wantCounts(orgs, users int) {
	h.t.Helper()
	if o, u := h.counts(); o != orgs || u != users {
		h.t.Errorf("after the failed request: %d organizations and %d users, want %d and %d", o, u, orgs, users)
	}
}

// email is one message of the dev outbox.
type email struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Body    string `json:"text"`
}

// outbox reads GET /_dev/outbox, newest first.
func (h *harness) outbox() []email {
	h.t.Helper()
	resp, b := h.raw(h.newRequest("GET", "/_dev/outbox", nil))
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("GET /_dev/outbox: %d %s", resp.StatusCode, b)
	}
	var out []email
	if err := json.Unmarshal(b, &out); err != nil {
		h.t.Fatalf("GET /_dev/outbox: %v: %s", err, b)
	}
	return out
}

// outboxTo returns the outbox messages sent to addr.
func (h *harness) outboxTo(addr string) []email {
	var out []email
	for _, m := range h.outbox() {
		if m.To == addr {
			out = append(out, m)
		}
	}
	return out
}

func jsonString(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// get walks decoded JSON along a dotted path; numeric parts index arrays.
// It returns nil when the path does not exist.
func get(v any, path string) any {
	for _, p := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func str(v any, path string) string {
	s, _ := get(v, path).(string)
	return s
}

// num reads a JSON number at path (0 if absent).
func num(v any, path string) int {
	switch x := get(v, path).(type) {
	case float64:
		return int(x)
	case string: // protojson writes 64-bit integers as strings
		n, _ := strconv.Atoi(x)
		return n
	}
	return 0
}

func list(v any, path string) []any {
	l, _ := get(v, path).([]any)
	return l
}

// violation is one field violation of an ErrorInfo detail.
type violation struct{ Field, Description string }

// restErr is the ErrorInfo of a REST error body.
type restErr struct {
	ErrorCode  string
	RequestID  string
	Violations []violation
}

func parseRESTError(body map[string]any) restErr {
	var e restErr
	for _, d := range list(body, "details") {
		if !strings.HasSuffix(str(d, "@type"), "scalekit.v1.errdetails.ErrorInfo") {
			continue
		}
		e.ErrorCode = str(d, "error_code")
		e.RequestID = str(d, "request_info.request_id")
		for _, v := range list(d, "validation_error_info.field_violations") {
			e.Violations = append(e.Violations, violation{str(v, "field"), str(v, "description")})
		}
	}
	return e
}

// wantREST fails unless a REST call got status with an ErrorInfo carrying
// errorCode and, for each of fields, a violation naming it. A field
// matches a violation's field exactly or as its last dotted part(s), so
// "email" matches "user.email".
func wantREST(t testing.TB, status int, body map[string]any, wantStatus int, errorCode string, fields ...string) restErr {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d; body %v", status, wantStatus, body)
	}
	e := parseRESTError(body)
	if e.ErrorCode != errorCode {
		t.Errorf("error_code %q, want %q; body %v", e.ErrorCode, errorCode, body)
	}
	if !strings.HasPrefix(e.RequestID, "req_") {
		t.Errorf("request_info.request_id %q, want a req_ id; body %v", e.RequestID, body)
	}
	if c := num(body, "code"); c == 0 {
		t.Errorf("body has no gRPC code: %v", body)
	}
	if msg := str(body, "message"); msg == "" || leaksInternals(msg) {
		t.Errorf("message %q is missing or leaks internals", msg)
	}
	for _, f := range fields {
		if findViolation(e.Violations, f) == nil {
			t.Errorf("no field violation naming %q; got %+v", f, e.Violations)
		}
	}
	return e
}

// fieldPath is what a violation's field must look like: a dotted path of
// proto field names (and map keys), never a database message.
var fieldPath = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+|\[[0-9]+\])*$`)

func findViolation(vs []violation, field string) *violation {
	for i, v := range vs {
		if !fieldPath.MatchString(v.Field) {
			continue
		}
		if v.Field == field || strings.HasSuffix(v.Field, "."+field) {
			return &vs[i]
		}
	}
	return nil
}

// wantRPC fails unless err is a connect error with code, an ErrorInfo
// detail, and a violation naming each of fields. It returns the violations.
func wantRPC(t testing.TB, err error, code connect.Code, fields ...string) []violation {
	t.Helper()
	if err == nil {
		t.Fatalf("call succeeded, want %v", code)
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a connect error", err)
	}
	if ce.Code() != code {
		t.Fatalf("code %v (%v), want %v", ce.Code(), err, code)
	}
	var info *errdetailsv1.ErrorInfo
	for _, d := range ce.Details() {
		if m, derr := d.Value(); derr == nil {
			if i, ok := m.(*errdetailsv1.ErrorInfo); ok {
				info = i
			}
		}
	}
	if info == nil {
		t.Fatalf("%v: no ErrorInfo detail", err)
	}
	if info.GetErrorCode() == "" || !strings.HasPrefix(info.GetRequestInfo().GetRequestId(), "req_") {
		t.Errorf("ErrorInfo lacks error_code or request_id: %v", info)
	}
	if leaksInternals(ce.Message()) {
		t.Errorf("message %q leaks internals", ce.Message())
	}
	var vs []violation
	for _, v := range info.GetValidationErrorInfo().GetFieldViolations() {
		vs = append(vs, violation{v.GetField(), v.GetDescription()})
	}
	for _, f := range fields {
		if findViolation(vs, f) == nil {
			t.Errorf("no field violation naming %q; got %+v", f, vs)
		}
	}
	return vs
}

// leaksInternals spots database or Go internals in a caller-facing message.
func leaksInternals(msg string) bool {
	m := strings.ToLower(msg)
	for _, bad := range []string{"constraint", "sql", "pq:", "duplicate key", "goroutine", ".go:"} {
		if strings.Contains(m, bad) {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }
