package wirecheck

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	// Every generated package, so that its descriptors are registered in
	// protoregistry.GlobalFiles. The connect packages are imported too so the
	// test fails to build if any of them goes missing.
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/auditlogs"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/auditlogs/auditlogsv1connect"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/auth/passwordless"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/auth/passwordless/passwordlessv1connect"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/auth/webauthn"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/auth/webauthn/webauthnv1connect"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/clients"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/clients/clientsv1connect"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/commons"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/connections"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/connections/connectionsv1connect"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/directories"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/directories/directoriesv1connect"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/domains"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/domains/domainsv1connect"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/errdetails"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/events"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/events/eventsv1connect"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations/organizationsv1connect"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/roles"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/roles/rolesv1connect"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/sessions"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/sessions/sessionsv1connect"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/users"
	_ "github.com/gatehouse/gatehouse/gen/scalekit/v1/users/usersv1connect"
)

const (
	schemaFile     = "testdata/scalekit-wire-schema.txt"
	errdetailsPkg  = "scalekit.v1.errdetails"
	errdetailsPath = "scalekit/v1/errdetails/errdetails.proto"
)

// entity is one service, message or enum. items maps a key (rpc name, field
// number, enum value name) to its line in the schema's format.
type entity struct {
	kind  string // "service", "message", "enum"
	name  string // full name
	items map[string]string
}

// model is keyed by "kind fullname".
type model map[string]*entity

func (m model) add(kind, name string) (*entity, error) {
	k := kind + " " + name
	if _, dup := m[k]; dup {
		return nil, fmt.Errorf("%s defined twice", k)
	}
	e := &entity{kind: kind, name: name, items: map[string]string{}}
	m[k] = e
	return e, nil
}

func (e *entity) put(key, line string) error {
	if prev, dup := e.items[key]; dup {
		return fmt.Errorf("%s %s: %s %s declared twice (%q and %q)", e.kind, e.name, itemWord(e.kind), key, prev, line)
	}
	e.items[key] = line
	return nil
}

func itemWord(kind string) string {
	switch kind {
	case "service":
		return "rpc"
	case "message":
		return "field"
	default:
		return "value"
	}
}

func norm(s string) string { return strings.Join(strings.Fields(s), " ") }

var (
	rpcNameRe = regexp.MustCompile(`^rpc (\w+)\(`)
	enumRe    = regexp.MustCompile(`^enum ([\w.]+): (.*)$`)
)

// parseSchema parses the wire schema text (independently of tools/schema2proto).
func parseSchema(text string) (model, error) {
	m := model{}
	var cur *entity
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	ln := 0
	for sc.Scan() {
		ln++
		raw := sc.Text()
		line := norm(raw)
		var err error
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(raw, "service "):
			cur, err = m.add("service", strings.TrimPrefix(line, "service "))
		case strings.HasPrefix(raw, "message "):
			cur, err = m.add("message", strings.TrimPrefix(line, "message "))
		case strings.HasPrefix(raw, "enum "):
			cur = nil
			mm := enumRe.FindStringSubmatch(line)
			if mm == nil {
				return nil, fmt.Errorf("line %d: bad enum line %q", ln, raw)
			}
			var e *entity
			if e, err = m.add("enum", mm[1]); err == nil {
				for _, v := range strings.Split(mm[2], ",") {
					v = strings.TrimSpace(v)
					name, _, ok := strings.Cut(v, "=")
					if !ok {
						return nil, fmt.Errorf("line %d: bad enum value %q", ln, v)
					}
					if err = e.put(name, v); err != nil {
						break
					}
				}
			}
		case cur == nil:
			return nil, fmt.Errorf("line %d: member line outside service/message: %q", ln, raw)
		case cur.kind == "service":
			mm := rpcNameRe.FindStringSubmatch(line)
			if mm == nil {
				return nil, fmt.Errorf("line %d: bad rpc line %q", ln, raw)
			}
			err = cur.put(mm[1], line)
		default:
			num, _, _ := strings.Cut(line, " ")
			if _, aerr := strconv.Atoi(num); aerr != nil {
				return nil, fmt.Errorf("line %d: bad field line %q", ln, raw)
			}
			err = cur.put(num, line)
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", ln, err)
		}
	}
	return m, sc.Err()
}

// fromFiles renders the descriptors of every file accepted by include.
func fromFiles(files *protoregistry.Files, include func(protoreflect.FileDescriptor) bool) (model, error) {
	m := model{}
	var err error
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !include(fd) {
			return true
		}
		err = addFile(m, fd)
		return err == nil
	})
	return m, err
}

func addFile(m model, fd protoreflect.FileDescriptor) error {
	svcs := fd.Services()
	for i := 0; i < svcs.Len(); i++ {
		sd := svcs.Get(i)
		e, err := m.add("service", string(sd.FullName()))
		if err != nil {
			return err
		}
		for j := 0; j < sd.Methods().Len(); j++ {
			md := sd.Methods().Get(j)
			if err := e.put(string(md.Name()), renderRPC(md)); err != nil {
				return err
			}
		}
	}
	if err := addMessages(m, fd.Messages()); err != nil {
		return err
	}
	return addEnums(m, fd.Enums())
}

func addMessages(m model, msgs protoreflect.MessageDescriptors) error {
	for i := 0; i < msgs.Len(); i++ {
		md := msgs.Get(i)
		if md.IsMapEntry() {
			continue // rendered as map<k,v> on the owning field
		}
		e, err := m.add("message", string(md.FullName()))
		if err != nil {
			return err
		}
		for j := 0; j < md.Fields().Len(); j++ {
			f := md.Fields().Get(j)
			if err := e.put(strconv.Itoa(int(f.Number())), renderField(f)); err != nil {
				return err
			}
		}
		if err := addMessages(m, md.Messages()); err != nil {
			return err
		}
		if err := addEnums(m, md.Enums()); err != nil {
			return err
		}
	}
	return nil
}

func addEnums(m model, enums protoreflect.EnumDescriptors) error {
	for i := 0; i < enums.Len(); i++ {
		ed := enums.Get(i)
		e, err := m.add("enum", string(ed.FullName()))
		if err != nil {
			return err
		}
		for j := 0; j < ed.Values().Len(); j++ {
			v := ed.Values().Get(j)
			if err := e.put(string(v.Name()), fmt.Sprintf("%s=%d", v.Name(), v.Number())); err != nil {
				return err
			}
		}
	}
	return nil
}

func typeName(f protoreflect.FieldDescriptor) string {
	switch f.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return string(f.Message().FullName())
	case protoreflect.EnumKind:
		return string(f.Enum().FullName())
	default:
		return f.Kind().String()
	}
}

// renderField renders "NUMBER [repeated|optional] TYPE NAME [(oneof GROUP)]".
func renderField(f protoreflect.FieldDescriptor) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d ", f.Number())
	switch {
	case f.IsMap():
		fmt.Fprintf(&b, "map<%s,%s>", typeName(f.MapKey()), typeName(f.MapValue()))
	case f.Cardinality() == protoreflect.Repeated:
		b.WriteString("repeated " + typeName(f))
	case f.HasOptionalKeyword():
		b.WriteString("optional " + typeName(f))
	case f.Cardinality() == protoreflect.Required:
		b.WriteString("required " + typeName(f))
	default:
		b.WriteString(typeName(f))
	}
	b.WriteString(" " + string(f.Name()))
	if od := f.ContainingOneof(); od != nil && !od.IsSynthetic() {
		fmt.Fprintf(&b, " (oneof %s)", od.Name())
	}
	return b.String()
}

// renderRPC renders "rpc Name(In) -> Out [body: B METHOD /path]".
func renderRPC(md protoreflect.MethodDescriptor) string {
	in, out := string(md.Input().FullName()), string(md.Output().FullName())
	if md.IsStreamingClient() {
		in = "stream " + in
	}
	if md.IsStreamingServer() {
		out = "stream " + out
	}
	return fmt.Sprintf("rpc %s(%s) -> %s [%s]", md.Name(), in, out, renderHTTP(md))
}

func renderHTTP(md protoreflect.MethodDescriptor) string {
	rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
	if rule == nil || rule.GetPattern() == nil {
		return "no google.api.http rule"
	}
	var method, path string
	switch p := rule.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		method, path = "GET", p.Get
	case *annotations.HttpRule_Post:
		method, path = "POST", p.Post
	case *annotations.HttpRule_Put:
		method, path = "PUT", p.Put
	case *annotations.HttpRule_Patch:
		method, path = "PATCH", p.Patch
	case *annotations.HttpRule_Delete:
		method, path = "DELETE", p.Delete
	case *annotations.HttpRule_Custom:
		method, path = p.Custom.GetKind(), p.Custom.GetPath()
	}
	s := method + " " + path
	if rule.GetBody() != "" {
		s = "body: " + rule.GetBody() + " " + s
	}
	// Not expressible in the schema; rendered so that they show up as a difference.
	if rule.GetResponseBody() != "" {
		s += " response_body: " + rule.GetResponseBody()
	}
	if n := len(rule.GetAdditionalBindings()); n > 0 {
		s += fmt.Sprintf(" +%d additional_bindings", n)
	}
	return s
}

// compare lists every difference between the schema (want) and the
// descriptors (got), one precise line each, sorted.
func compare(want, got model) []string {
	var diffs []string
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s: in schema, missing from descriptors", k))
			continue
		}
		word := itemWord(w.kind)
		for ik, wl := range w.items {
			gl, ok := g.items[ik]
			switch {
			case !ok:
				diffs = append(diffs, fmt.Sprintf("%s %s %s: want %q, got nothing", k, word, ik, wl))
			case gl != wl:
				diffs = append(diffs, fmt.Sprintf("%s %s %s: want %q, got %q", k, word, ik, wl, gl))
			}
		}
		for ik, gl := range g.items {
			if _, ok := w.items[ik]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s %s %s: not in schema, got %q", k, word, ik, gl))
			}
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: in descriptors, not in schema", k))
		}
	}
	sort.Strings(diffs)
	return diffs
}

func readSchema(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func scalekitDescriptors(t *testing.T) model {
	t.Helper()
	got, err := fromFiles(protoregistry.GlobalFiles, func(fd protoreflect.FileDescriptor) bool {
		pkg := string(fd.Package())
		return (pkg == "scalekit.v1" || strings.HasPrefix(pkg, "scalekit.v1.")) && pkg != errdetailsPkg
	})
	if err != nil {
		t.Fatalf("rendering descriptors: %v", err)
	}
	return got
}

func count(m model, kind string) int {
	n := 0
	for _, e := range m {
		if e.kind == kind {
			n++
		}
	}
	return n
}

func TestDescriptorsMatchWireSchema(t *testing.T) {
	want, err := parseSchema(readSchema(t))
	if err != nil {
		t.Fatalf("parsing %s: %v", schemaFile, err)
	}
	// Guard against a vacuous pass (e.g. a parser that silently reads nothing).
	if count(want, "service") < 12 || count(want, "message") < 300 || count(want, "enum") < 30 {
		t.Fatalf("schema parsed suspiciously small: %d services, %d messages, %d enums",
			count(want, "service"), count(want, "message"), count(want, "enum"))
	}
	got := scalekitDescriptors(t)
	if diffs := compare(want, got); len(diffs) > 0 {
		t.Errorf("generated descriptors differ from %s in %d places:\n  %s", schemaFile, len(diffs), strings.Join(diffs, "\n  "))
	}
	t.Logf("checked %d services, %d messages, %d enums", count(want, "service"), count(want, "message"), count(want, "enum"))
}

// TestFileLayout checks the file/package convention the rest of the project
// relies on: one file per package at scalekit/v1/<path>/<last>.proto.
func TestFileLayout(t *testing.T) {
	n := 0
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		pkg := string(fd.Package())
		if !strings.HasPrefix(pkg, "scalekit.v1.") {
			return true
		}
		n++
		rel := strings.ReplaceAll(strings.TrimPrefix(pkg, "scalekit.v1."), ".", "/")
		wantPath := "scalekit/v1/" + rel + "/" + rel[strings.LastIndex(rel, "/")+1:] + ".proto"
		if fd.Path() != wantPath {
			t.Errorf("package %s is in file %s, want %s", pkg, fd.Path(), wantPath)
		}
		return true
	})
	if n == 0 {
		t.Fatal("no scalekit.v1 files registered")
	}
}

// The schema describes scalekit.v1.errdetails only in its header comment.
// ErrorInfo, RequestInfo, ValidationErrorInfo and FieldViolation come from the
// header; the rest mirror google.rpc error_details.
const errdetailsWant = `
message scalekit.v1.errdetails.ErrorInfo
  1 string error_code
  2 scalekit.v1.errdetails.DebugInfo debug_info
  3 scalekit.v1.errdetails.HelpInfo help_info
  4 scalekit.v1.errdetails.LocalizedMessageInfo localized_message_info
  5 scalekit.v1.errdetails.ResourceInfo resource_info
  6 scalekit.v1.errdetails.RequestInfo request_info
  8 scalekit.v1.errdetails.ValidationErrorInfo validation_error_info
message scalekit.v1.errdetails.RequestInfo
  1 string request_id
  2 string serving_data
message scalekit.v1.errdetails.ValidationErrorInfo
  1 repeated scalekit.v1.errdetails.FieldViolation field_violations
message scalekit.v1.errdetails.FieldViolation
  1 string field
  2 string description
  3 string constraint
message scalekit.v1.errdetails.DebugInfo
  1 repeated string stack_entries
  2 string detail
message scalekit.v1.errdetails.HelpInfo
  1 repeated scalekit.v1.errdetails.Link links
message scalekit.v1.errdetails.Link
  1 string description
  2 string url
message scalekit.v1.errdetails.LocalizedMessageInfo
  1 string locale
  2 string message
message scalekit.v1.errdetails.ResourceInfo
  1 string resource_type
  2 string resource_name
  3 string owner
  4 string description
`

func TestErrDetails(t *testing.T) {
	// Cross-check the expectation above against the facts in the schema header.
	var header strings.Builder
	for _, l := range strings.Split(readSchema(t), "\n") {
		if strings.HasPrefix(l, "#") {
			header.WriteString(l + "\n")
		}
	}
	h := header.String()
	for _, fact := range []string{
		"scalekit.v1.errdetails.ErrorInfo",
		"1 error_code", "2 debug_info DebugInfo", "3 help_info HelpInfo", "4 localized_message_info",
		"5 resource_info", "6 request_info RequestInfo{1 request_id,2 serving_data}",
		"8 validation_error_info ValidationErrorInfo{1 repeated FieldViolation{1 field,2 description,3 constraint}}",
	} {
		if !strings.Contains(h, fact) {
			t.Errorf("schema header no longer says %q; update errdetailsWant and the converter", fact)
		}
	}

	want, err := parseSchema(errdetailsWant)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := protoregistry.GlobalFiles.FindFileByPath(errdetailsPath)
	if err != nil {
		t.Fatalf("%s not registered: %v", errdetailsPath, err)
	}
	if fd.Package() != errdetailsPkg {
		t.Fatalf("%s has package %s, want %s", errdetailsPath, fd.Package(), errdetailsPkg)
	}
	got := model{}
	if err := addFile(got, fd); err != nil {
		t.Fatal(err)
	}
	if diffs := compare(want, got); len(diffs) > 0 {
		t.Errorf("errdetails differs in %d places:\n  %s", len(diffs), strings.Join(diffs, "\n  "))
	}
}

// TestCompareReportsAlterations proves that the comparison can fail, and that
// it says precisely where.
func TestCompareReportsAlterations(t *testing.T) {
	text := readSchema(t)
	edits := []struct{ old, new string }{
		// field number changed: users.User field 7 becomes 17
		{"  7 repeated scalekit.v1.commons.OrganizationMembership memberships\n  8 scalekit.v1.commons.UserProfile user_profile\n  9 map<string,string> metadata\n  10 google.protobuf.Timestamp last_login_time\n",
			"  17 repeated scalekit.v1.commons.OrganizationMembership memberships\n  8 scalekit.v1.commons.UserProfile user_profile\n  9 map<string,string> metadata\n  10 google.protobuf.Timestamp last_login_time\n"},
		// rpc route changed
		{"[GET /api/v1/organizations/{id}]", "[GET /api/v1/orgs/{id}]"},
		// rpc body changed
		{"[body: * PATCH /api/v1/organizations/{organization_id}/session-policy]", "[body: policy PATCH /api/v1/organizations/{organization_id}/session-policy]"},
		// proto3 optional label dropped
		{"  2 optional scalekit.v1.auth.passwordless.TemplateType template\n", "  2 scalekit.v1.auth.passwordless.TemplateType template\n"},
		// oneof membership dropped
		{"  2 string link_token (oneof auth_credential)\n", "  2 string link_token\n"},
		// enum value renumbered
		{"dir_sync=1, sso=2", "dir_sync=1, sso=3"},
		// message removed (header and its fields)
		{"message scalekit.v1.roles.Permission\n  1 string id\n  2 string name\n  3 string description\n  4 google.protobuf.Timestamp create_time\n  5 google.protobuf.Timestamp update_time\n  6 bool is_scalekit_permission\n", ""},
	}
	for _, e := range edits {
		if strings.Count(text, e.old) != 1 {
			t.Fatalf("edit target not found exactly once in schema: %q", e.old)
		}
		text = strings.Replace(text, e.old, e.new, 1)
	}
	want, err := parseSchema(text)
	if err != nil {
		t.Fatal(err)
	}
	got := compare(want, scalekitDescriptors(t))
	expected := []string{
		`enum scalekit.v1.organizations.Feature value sso: want "sso=3", got "sso=2"`,
		`message scalekit.v1.auth.passwordless.SendPasswordlessRequest field 2: want "2 scalekit.v1.auth.passwordless.TemplateType template", got "2 optional scalekit.v1.auth.passwordless.TemplateType template"`,
		`message scalekit.v1.auth.passwordless.VerifyPasswordLessRequest field 2: want "2 string link_token", got "2 string link_token (oneof auth_credential)"`,
		`message scalekit.v1.roles.Permission: in descriptors, not in schema`,
		`message scalekit.v1.users.User field 17: want "17 repeated scalekit.v1.commons.OrganizationMembership memberships", got nothing`,
		`message scalekit.v1.users.User field 7: not in schema, got "7 repeated scalekit.v1.commons.OrganizationMembership memberships"`,
		`service scalekit.v1.organizations.OrganizationService rpc GetOrganization: want "rpc GetOrganization(scalekit.v1.organizations.GetOrganizationRequest) -> scalekit.v1.organizations.GetOrganizationResponse [GET /api/v1/orgs/{id}]", got "rpc GetOrganization(scalekit.v1.organizations.GetOrganizationRequest) -> scalekit.v1.organizations.GetOrganizationResponse [GET /api/v1/organizations/{id}]"`,
		`service scalekit.v1.organizations.OrganizationService rpc UpdateOrganizationSessionPolicy: want "rpc UpdateOrganizationSessionPolicy(scalekit.v1.organizations.UpdateOrganizationSessionPolicyRequest) -> scalekit.v1.organizations.UpdateOrganizationSessionPolicyResponse [body: policy PATCH /api/v1/organizations/{organization_id}/session-policy]", got "rpc UpdateOrganizationSessionPolicy(scalekit.v1.organizations.UpdateOrganizationSessionPolicyRequest) -> scalekit.v1.organizations.UpdateOrganizationSessionPolicyResponse [body: * PATCH /api/v1/organizations/{organization_id}/session-policy]"`,
	}
	if strings.Join(got, "\n") != strings.Join(expected, "\n") {
		t.Errorf("compare on altered schema:\ngot:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(expected, "\n  "))
	}

	// And the reverse direction: something only in the schema is reported too.
	extra, err := parseSchema(readSchema(t) + "message scalekit.v1.users.Ghost\n  1 string id\n")
	if err != nil {
		t.Fatal(err)
	}
	if d := compare(extra, scalekitDescriptors(t)); len(d) != 1 || d[0] != "message scalekit.v1.users.Ghost: in schema, missing from descriptors" {
		t.Errorf("missing message not reported correctly: %q", d)
	}
}
