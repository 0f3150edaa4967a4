package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/gatehouse/gatehouse/internal/apierr"
)

// MaxBodyBytes bounds every request body; larger ones get 413.
const MaxBodyBytes = 1 << 20

// restRoute is one REST binding, matched by method and path template, with
// its request message and the message its JSON body decodes into (nil when
// the route takes no body). When the body is a repeated field (AssignUserRoles
// takes "roles"), bodyList is that field and the body a JSON array of body
// messages.
type restRoute struct {
	method   string
	segments []string // literal segments, or "" for a {variable}
	input    protoreflect.MessageDescriptor
	body     protoreflect.MessageDescriptor
	bodyList protoreflect.FieldDescriptor
}

// match reports whether the route matches, and how many literal segments
// it matched, so the most specific of several matching routes wins.
func (r restRoute) match(method string, segs []string) (bool, int) {
	if method != r.method || len(segs) != len(r.segments) {
		return false, 0
	}
	literals := 0
	for i, s := range r.segments {
		if s == "" {
			continue
		}
		if s != segs[i] {
			return false, 0
		}
		literals++
	}
	return true, literals
}

func findRoute(routes []restRoute, method, path string) *restRoute {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var best *restRoute
	bestLiterals := -1
	for i := range routes {
		if ok, n := routes[i].match(method, segs); ok && n > bestLiterals {
			best, bestLiterals = &routes[i], n
		}
	}
	return best
}

// restRoutes lists the REST routes of every method of the services.
func restRoutes(services []protoreflect.ServiceDescriptor) []restRoute {
	var out []restRoute
	for _, sd := range services {
		for i := 0; i < sd.Methods().Len(); i++ {
			md := sd.Methods().Get(i)
			rule, ok := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
			if !ok || rule == nil {
				continue
			}
			method, path := ruleMethodPath(rule)
			route := restRoute{method: method, segments: templateSegments(path), input: md.Input()}
			switch f := rule.GetBody(); f {
			case "":
			case "*":
				route.body = md.Input()
			default:
				fd := md.Input().Fields().ByName(protoreflect.Name(f))
				if fd == nil || fd.Message() == nil {
					continue
				}
				route.body = fd.Message()
				if fd.IsList() {
					route.bodyList = fd
				}
			}
			out = append(out, route)
		}
	}
	return out
}

func ruleMethodPath(rule *annotations.HttpRule) (string, string) {
	switch p := rule.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return http.MethodGet, p.Get
	case *annotations.HttpRule_Post:
		return http.MethodPost, p.Post
	case *annotations.HttpRule_Put:
		return http.MethodPut, p.Put
	case *annotations.HttpRule_Patch:
		return http.MethodPatch, p.Patch
	case *annotations.HttpRule_Delete:
		return http.MethodDelete, p.Delete
	case *annotations.HttpRule_Custom:
		return p.Custom.GetKind(), p.Custom.GetPath()
	}
	return "", ""
}

func templateSegments(path string) []string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			segs[i] = ""
		}
	}
	return segs
}

// restChecks checks and normalizes REST requests before transcoding:
// unknown query parameters and values of the wrong type get 400 naming the
// parameter (the transcoder would answer 500 or 400 without ErrorInfo);
// bodies over MaxBodyBytes get 413; malformed JSON and unknown fields get
// 400 naming the field; roles given as plain strings (["admin"], as the
// migration guide writes them) become Role messages ([{"name":"admin"}]).
// A request these checks refuse is first authenticated and charged to the
// rate limit like any other call, so callers without a valid token get 401
// and callers over their limit 429, never a validation error.
func restChecks(routes []restRoute, g *guard, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// gRPC and Connect callers get their own protocol's errors, e.g.
		// ResourceExhausted from connect's read limit for an oversized
		// message, not a REST 413 their clients can only read as Unknown.
		if isRPC(r) {
			next.ServeHTTP(w, r)
			return
		}
		route := findRoute(routes, r.Method, r.URL.Path)
		if route == nil {
			next.ServeHTTP(w, r)
			return
		}
		escapeLastColon(r, route)
		refuse := func(err error, status int) {
			if _, _, aerr := g.admit(r.Context(), r.Header); aerr != nil {
				err, status = aerr, 0
			}
			writeRESTError(w, r, err, status)
		}
		if err := checkQuery(r, route.input); err != nil {
			refuse(err, 0)
			return
		}
		if r.ContentLength > MaxBodyBytes {
			refuse(tooLarge(), http.StatusRequestEntityTooLarge)
			return
		}
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			refuse(tooLarge(), http.StatusRequestEntityTooLarge)
			return
		} else if err != nil {
			refuse(apierr.InvalidArgument(apierr.Violation{Field: "body", Description: "could not be read"}), 0)
			return
		}
		var out []byte
		if route.body == nil {
			if len(bytes.TrimSpace(raw)) > 0 {
				refuse(apierr.InvalidArgument(apierr.Violation{Field: "body", Description: "must be empty: this route takes no request body"}), 0)
				return
			}
		} else if out, err = normalizeBody(raw, route.body, route.bodyList); err != nil {
			refuse(err, 0)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(out))
		r.ContentLength = int64(len(out))
		r.Header.Del("Content-Length")
		next.ServeHTTP(w, r)
	})
}

// escapeLastColon keeps a colon in a path variable at the end of the path
// (a permission name such as projects:create) from being taken by vanguard
// for a custom verb (as in /users:count): vanguard splits the last segment
// at its first colon but percent-decodes variable values, so the colon (and
// any percent sign) of a route ending in a variable is percent-encoded.
func escapeLastColon(r *http.Request, route *restRoute) {
	i := strings.LastIndexByte(r.URL.Path, '/')
	last := r.URL.Path[i+1:]
	if route.segments[len(route.segments)-1] != "" || !strings.Contains(last, ":") {
		return
	}
	last = strings.NewReplacer("%", "%25", ":", "%3A").Replace(last)
	r.URL.Path, r.URL.RawPath = r.URL.Path[:i+1]+last, ""
}

func tooLarge() error {
	return &apierr.Error{Code: connect.CodeResourceExhausted, ErrorCode: "PAYLOAD_TOO_LARGE",
		Message: fmt.Sprintf("request body exceeds %d bytes", MaxBodyBytes)}
}

// checkQuery refuses query parameters that name no field of the request
// message, and values that do not parse as their field's type, naming the
// parameter. Field masks may be given with proto names
// (update_mask=display_name) as well as in the camelCase JSON form the
// transcoder wants; they are rewritten to the latter.
func checkQuery(r *http.Request, md protoreflect.MessageDescriptor) error {
	if r.URL.RawQuery == "" {
		return nil
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return apierr.InvalidArgument(apierr.Violation{Field: "query", Description: "is not a valid URL query string"})
	}
	var vs apierr.Violations
	rewrote := false
	for key, values := range q {
		fd := queryField(md, key)
		if fd == nil {
			vs.Add(key, "unknown query parameter")
			continue
		}
		for i, v := range values {
			if fd.Message() != nil && fd.Message().FullName() == "google.protobuf.FieldMask" {
				values[i], rewrote = camelPaths(v), true
				continue
			}
			if !scalarParses(fd, v) {
				vs.Add(key, fmt.Sprintf("%q is not a valid %s", v, fd.Kind()))
			}
		}
	}
	if err := vs.Err(); err != nil {
		return err
	}
	if rewrote {
		r.URL.RawQuery = q.Encode()
	}
	return nil
}

// queryField resolves a dotted query parameter name as the transcoder
// does (JSON names first, then proto names), or returns nil.
func queryField(md protoreflect.MessageDescriptor, path string) protoreflect.FieldDescriptor {
	var fd protoreflect.FieldDescriptor
	for _, part := range strings.Split(path, ".") {
		if md == nil || (fd != nil && fd.IsList()) {
			return nil // a path only continues through singular messages
		}
		fd = md.Fields().ByJSONName(part)
		if fd == nil {
			fd = md.Fields().ByName(protoreflect.Name(part))
		}
		if fd == nil || fd.IsMap() {
			return nil
		}
		md = fd.Message()
	}
	return fd
}

// scalarParses reports whether v decodes as fd's type the way the
// transcoder decodes query values; kinds it does not know pass.
func scalarParses(fd protoreflect.FieldDescriptor, v string) bool {
	var target any
	switch fd.Kind() {
	case protoreflect.BoolKind:
		target = new(bool)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		target = new(int32)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		target = new(int64)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		target = new(uint32)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		target = new(uint64)
	default:
		return true
	}
	return json.Unmarshal([]byte(v), target) == nil
}

// camelPaths turns comma-separated field-mask paths into lowerCamelCase.
func camelPaths(v string) string {
	paths := strings.Split(v, ",")
	for i, p := range paths {
		var b strings.Builder
		up := false
		for _, c := range strings.TrimSpace(p) {
			switch {
			case c == '_':
				up = true
			case up:
				b.WriteString(strings.ToUpper(string(c)))
				up = false
			default:
				b.WriteRune(c)
			}
		}
		paths[i] = b.String()
	}
	return strings.Join(paths, ",")
}

// isRPC tells gRPC and Connect requests from REST ones.
func isRPC(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return strings.HasPrefix(ct, "application/grpc") || r.Header.Get("Connect-Protocol-Version") != "" ||
		strings.HasPrefix(ct, "application/connect")
}

func normalizeBody(raw []byte, md protoreflect.MessageDescriptor, list protoreflect.FieldDescriptor) ([]byte, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return raw, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	what := "object"
	if list != nil {
		what = "array"
	}
	err := dec.Decode(&v)
	if _, isList := v.([]any); err != nil || dec.More() || isList != (list != nil) {
		return nil, apierr.InvalidArgument(apierr.Violation{Field: "body", Description: "must be one valid JSON " + what, Constraint: "json"})
	}
	var vs apierr.Violations
	elems := []any{v}
	if list != nil {
		elems = normalizeList(&vs, string(list.Name()), v.([]any), md)
	} else {
		v = normalizeValue(&vs, "", v, md)
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	// A last check with the real decoder catches wrong value types.
	for _, el := range elems {
		b, err := json.Marshal(el)
		if err != nil {
			return nil, err
		}
		if err := protojson.Unmarshal(b, dynamicpb.NewMessage(md)); err != nil {
			msg := err.Error()
			if i := strings.Index(msg, "): "); i >= 0 {
				msg = msg[i+3:]
			}
			return nil, apierr.InvalidArgument(apierr.Violation{Field: "body", Description: msg, Constraint: "type"})
		}
	}
	return json.Marshal(v)
}

// nameShorthand lists messages a JSON list may give as plain strings, and
// the field such a string fills: roles as the migration guide writes them
// (["admin"]) become [{"name":"admin"}].
var nameShorthand = map[protoreflect.FullName]string{
	"scalekit.v1.commons.Role":            "name",
	"scalekit.v1.users.AssignRoleRequest": "role_name",
}

// normalizeList normalizes each element of a JSON list of md messages in
// place and returns the list.
func normalizeList(vs *apierr.Violations, path string, list []any, md protoreflect.MessageDescriptor) []any {
	for i, el := range list {
		if s, ok := el.(string); ok && nameShorthand[md.FullName()] != "" {
			list[i] = map[string]any{nameShorthand[md.FullName()]: s}
			continue
		}
		list[i] = normalizeValue(vs, fmt.Sprintf("%s[%d]", path, i), el, md)
	}
	return list
}

// normalizeValue walks a JSON object along its message descriptor,
// reporting unknown fields by path and rewriting string roles.
func normalizeValue(vs *apierr.Violations, path string, v any, md protoreflect.MessageDescriptor) any {
	obj, ok := v.(map[string]any)
	if !ok || strings.HasPrefix(string(md.FullName()), "google.protobuf.") {
		return v
	}
	for k, val := range obj {
		fd := md.Fields().ByJSONName(k)
		if fd == nil {
			fd = md.Fields().ByName(protoreflect.Name(k))
		}
		p := k
		if path != "" {
			p = path + "." + k
		}
		if fd == nil {
			vs.Add(p, "unknown field")
			continue
		}
		if fd.Message() == nil || fd.IsMap() {
			continue
		}
		if list, ok := val.([]any); ok && fd.IsList() {
			normalizeList(vs, p, list, fd.Message())
			continue
		}
		obj[k] = normalizeValue(vs, p, val, fd.Message())
	}
	return obj
}

// writeRESTError writes err as the REST transcoding does: an HTTP status
// and a google.rpc.Status-shaped JSON body with the ErrorInfo detail.
func writeRESTError(w http.ResponseWriter, r *http.Request, err error, status int) {
	ce := wireError(r.Context(), err)
	if status == 0 {
		status = httpStatus(ce.Code())
	}
	details := []any{}
	for _, d := range ce.Details() {
		msg, derr := d.Value()
		if derr != nil {
			continue
		}
		b, merr := protojson.MarshalOptions{UseProtoNames: true}.Marshal(msg)
		if merr != nil {
			continue
		}
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		m["@type"] = "type.googleapis.com/" + string(msg.ProtoReflect().Descriptor().FullName())
		details = append(details, m)
	}
	for k, vs := range ce.Meta() {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": int(ce.Code()), "message": ce.Message(), "details": details})
}

// httpStatus maps gRPC codes to HTTP statuses as google.api does.
func httpStatus(c connect.Code) int {
	switch c {
	case connect.CodeInvalidArgument, connect.CodeFailedPrecondition, connect.CodeOutOfRange:
		return http.StatusBadRequest
	case connect.CodeUnauthenticated:
		return http.StatusUnauthorized
	case connect.CodePermissionDenied:
		return http.StatusForbidden
	case connect.CodeNotFound:
		return http.StatusNotFound
	case connect.CodeAlreadyExists, connect.CodeAborted:
		return http.StatusConflict
	case connect.CodeResourceExhausted:
		return http.StatusTooManyRequests
	case connect.CodeUnimplemented:
		return http.StatusNotImplemented
	case connect.CodeUnavailable:
		return http.StatusServiceUnavailable
	case connect.CodeDeadlineExceeded:
		return http.StatusGatewayTimeout
	case connect.CodeCanceled:
		return 499
	}
	return http.StatusInternalServerError
}
