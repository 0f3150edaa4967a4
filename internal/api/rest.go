package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
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

// restRoute is one REST binding with a JSON body, matched by method and
// path template, with the message its body decodes into.
type restRoute struct {
	method   string
	segments []string // literal segments, or "" for a {variable}
	body     protoreflect.MessageDescriptor
}

func (r restRoute) match(method string, segs []string) bool {
	if method != r.method || len(segs) != len(r.segments) {
		return false
	}
	for i, s := range r.segments {
		if s != "" && s != segs[i] {
			return false
		}
	}
	return true
}

// restRoutes lists the bodies of every method of the services.
func restRoutes(services []protoreflect.ServiceDescriptor) []restRoute {
	var out []restRoute
	for _, sd := range services {
		for i := 0; i < sd.Methods().Len(); i++ {
			md := sd.Methods().Get(i)
			rule, ok := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
			if !ok || rule == nil || rule.GetBody() == "" {
				continue
			}
			method, path := ruleMethodPath(rule)
			body := md.Input()
			if f := rule.GetBody(); f != "*" {
				fd := body.Fields().ByName(protoreflect.Name(f))
				if fd == nil || fd.Message() == nil {
					continue
				}
				body = fd.Message()
			}
			out = append(out, restRoute{method: method, segments: templateSegments(path), body: body})
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

// restBodies checks and normalizes REST JSON bodies before transcoding:
// bodies over MaxBodyBytes get 413; malformed JSON and unknown fields get
// 400 naming the field; roles given as plain strings (["admin"], as the
// migration guide writes them) become Role messages ([{"name":"admin"}]).
func restBodies(routes []restRoute, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			writeRESTError(w, r, &apierr.Error{Code: connect.CodeResourceExhausted, ErrorCode: "PAYLOAD_TOO_LARGE",
				Message: fmt.Sprintf("request body exceeds %d bytes", MaxBodyBytes)}, http.StatusRequestEntityTooLarge)
			return
		}
		if isRPC(r) || r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodDelete {
			next.ServeHTTP(w, r)
			return
		}
		var route *restRoute
		segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		for i := range routes {
			if routes[i].match(r.Method, segs) {
				route = &routes[i]
				break
			}
		}
		if route == nil {
			next.ServeHTTP(w, r)
			return
		}
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeRESTError(w, r, &apierr.Error{Code: connect.CodeResourceExhausted, ErrorCode: "PAYLOAD_TOO_LARGE",
				Message: fmt.Sprintf("request body exceeds %d bytes", MaxBodyBytes)}, http.StatusRequestEntityTooLarge)
			return
		} else if err != nil {
			writeRESTError(w, r, apierr.InvalidArgument(apierr.Violation{Field: "body", Description: "could not be read"}), 0)
			return
		}
		out, err := normalizeBody(raw, route.body)
		if err != nil {
			writeRESTError(w, r, err, 0)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(out))
		r.ContentLength = int64(len(out))
		r.Header.Del("Content-Length")
		next.ServeHTTP(w, r)
	})
}

// isRPC tells gRPC and Connect requests from REST ones.
func isRPC(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return strings.HasPrefix(ct, "application/grpc") || r.Header.Get("Connect-Protocol-Version") != "" ||
		strings.HasPrefix(ct, "application/connect")
}

func normalizeBody(raw []byte, md protoreflect.MessageDescriptor) ([]byte, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return raw, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, apierr.InvalidArgument(apierr.Violation{Field: "body", Description: "must be one valid JSON object", Constraint: "json"})
	}
	var vs apierr.Violations
	v = normalizeValue(&vs, "", v, md)
	if err := vs.Err(); err != nil {
		return nil, err
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	// A last check with the real decoder catches wrong value types.
	if err := protojson.Unmarshal(out, dynamicpb.NewMessage(md)); err != nil {
		msg := err.Error()
		if i := strings.Index(msg, "): "); i >= 0 {
			msg = msg[i+3:]
		}
		return nil, apierr.InvalidArgument(apierr.Violation{Field: "body", Description: msg, Constraint: "type"})
	}
	return out, nil
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
			for i, el := range list {
				if s, ok := el.(string); ok && fd.Message().FullName() == "scalekit.v1.commons.Role" {
					list[i] = map[string]any{"name": s}
					continue
				}
				list[i] = normalizeValue(vs, fmt.Sprintf("%s[%d]", p, i), el, fd.Message())
			}
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
