// Package api serves the Scalekit-compatible management API. One set of
// connect handlers answers gRPC (h2c), Connect and REST: vanguard
// transcodes REST to the handlers using the google.api.http routes of the
// wire schema.
//
// Handlers only translate between wire messages and the accounts service;
// the rules live there.
package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/vanguard"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/gatehouse/gatehouse/gen/gatehouse/v1/gatehousev1connect"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/auditlogs/auditlogsv1connect"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations/organizationsv1connect"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/roles/rolesv1connect"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/sessions/sessionsv1connect"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/users/usersv1connect"
	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/authlog"
	"github.com/gatehouse/gatehouse/internal/legacyauth"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/rbac"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/settings"
	"github.com/gatehouse/gatehouse/internal/signing"
)

// Config wires the API to its dependencies.
type Config struct {
	Accounts *accounts.Service
	RBAC     *rbac.Service
	Sessions *sessions.Service
	Settings *settings.Service
	Tokens   TokenVerifier
	Limiter  *ratelimit.Limiter
	Now      func() time.Time
	Log      *slog.Logger

	// AuthLog is the authentication log AuditLogsService reads.
	AuthLog *authlog.Log
	// Migration is lazy migration and the migration status
	// (MigrationService); nil serves no MigrationService.
	Migration *legacyauth.Service
	// Keys are the signing keys (KeysService); nil serves no KeysService.
	Keys *signing.Keyring
}

// Handler returns the management API, ready to mount at the root: it
// answers /scalekit.v1.*/ and /gatehouse.v1.*/ RPC paths and the /api/v1/
// REST routes.
func Handler(cfg Config) (http.Handler, error) {
	g := &guard{tokens: cfg.Tokens, limiter: cfg.Limiter, now: cfg.Now, log: cfg.Log}
	opts := []connect.HandlerOption{
		connect.WithInterceptors(g),
		connect.WithReadMaxBytes(MaxBodyBytes),
		// Compressing small responses costs more CPU than it saves on the wire.
		connect.WithCompressMinBytes(1024),
	}
	type svc struct {
		name    protoreflect.FullName
		path    string
		handler http.Handler
	}
	var svcs []svc
	add := func(name protoreflect.FullName, path string, h http.Handler) { svcs = append(svcs, svc{name, path, h}) }
	p, h := organizationsv1connect.NewOrganizationServiceHandler(&organizations{svc: cfg.Accounts, settings: cfg.Settings}, opts...)
	add(organizationsv1connect.OrganizationServiceName, p, h)
	p, h = usersv1connect.NewUserServiceHandler(&users{svc: cfg.Accounts}, opts...)
	add(usersv1connect.UserServiceName, p, h)
	p, h = sessionsv1connect.NewSessionServiceHandler(&sessionsAPI{svc: cfg.Sessions, now: cfg.Now}, opts...)
	add(sessionsv1connect.SessionServiceName, p, h)
	p, h = rolesv1connect.NewRolesServiceHandler(&roles{svc: cfg.RBAC}, opts...)
	add(rolesv1connect.RolesServiceName, p, h)
	p, h = auditlogsv1connect.NewAuditLogsServiceHandler(&auditLogsAPI{log: cfg.AuthLog}, opts...)
	add(auditlogsv1connect.AuditLogsServiceName, p, h)
	p, h = gatehousev1connect.NewSettingsServiceHandler(&settingsAPI{svc: cfg.Settings}, opts...)
	add(gatehousev1connect.SettingsServiceName, p, h)
	p, h = gatehousev1connect.NewImportServiceHandler(&importAPI{svc: cfg.Accounts}, opts...)
	add(gatehousev1connect.ImportServiceName, p, h)
	if cfg.Migration != nil {
		p, h = gatehousev1connect.NewMigrationServiceHandler(&migrationAPI{svc: cfg.Migration}, opts...)
		add(gatehousev1connect.MigrationServiceName, p, h)
	}
	p, h = gatehousev1connect.NewExportServiceHandler(&exportAPI{svc: cfg.Accounts}, opts...)
	add(gatehousev1connect.ExportServiceName, p, h)
	if cfg.Keys != nil {
		p, h = gatehousev1connect.NewKeysServiceHandler(&keysAPI{keys: cfg.Keys}, opts...)
		add(gatehousev1connect.KeysServiceName, p, h)
	}

	var services []*vanguard.Service
	var descs []protoreflect.ServiceDescriptor
	aliases := map[string]string{}
	for _, s := range svcs {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(s.name)
		if err != nil {
			return nil, err
		}
		sd := d.(protoreflect.ServiceDescriptor)
		routed, err := aliasColonRoutes(sd, aliases)
		if err != nil {
			return nil, err
		}
		descs = append(descs, routed) // the routes as requests arrive, after rewriteAliases
		// A rewritten descriptor gets vanguard's own resolver for its file
		// (dynamic messages); the bytes reaching the handler are the same.
		// Targeting binary protobuf makes vanguard re-encode every REST
		// response with restCodec instead of passing Connect JSON through.
		services = append(services, vanguard.NewServiceWithSchema(routed, s.handler,
			vanguard.WithTargetCodecs(vanguard.CodecProto)))
	}
	tc, err := vanguard.NewTranscoder(services, vanguard.WithCodec(restCodec))
	if err != nil {
		return nil, fmt.Errorf("building the REST transcoder: %w", err)
	}
	return rewriteAliases(aliases, restChecks(restRoutes(descs), g, tc)), nil
}

// restCodec renders REST JSON with the proto field names (snake_case) and
// refuses unknown fields, as the compatibility contract asks. It is
// vanguard's codec for every JSON request it decodes, Connect JSON included.
func restCodec(res vanguard.TypeResolver) vanguard.Codec {
	c := vanguard.NewJSONCodec(res)
	c.MarshalOptions.UseProtoNames = true
	c.UnmarshalOptions.DiscardUnknown = false
	return strictJSON{c}
}

// strictJSON reports JSON that does not decode as InvalidArgument: vanguard
// passes codec errors on uncoded, so a Connect JSON request with an unknown
// field would otherwise get 500 Unknown.
type strictJSON struct{ *vanguard.JSONCodec }

func (c strictJSON) Unmarshal(data []byte, msg proto.Message) error {
	return invalidJSON(c.JSONCodec.Unmarshal(data, msg))
}

func (c strictJSON) UnmarshalField(data []byte, msg proto.Message, field protoreflect.FieldDescriptor) error {
	return invalidJSON(c.JSONCodec.UnmarshalField(data, msg, field))
}

func invalidJSON(err error) error {
	if err == nil {
		return nil
	}
	return connect.NewError(connect.CodeInvalidArgument, err)
}

// aliasColonRoutes works around vanguard refusing a colon inside a path
// (Scalekit has /api/v1/organizations:external/{external_id}): it returns
// a copy of the service whose such routes use a colon-free alias segment,
// and records original segment -> alias in aliases for rewriteAliases.
func aliasColonRoutes(sd protoreflect.ServiceDescriptor, aliases map[string]string) (protoreflect.ServiceDescriptor, error) {
	fdp := protodesc.ToFileDescriptorProto(sd.ParentFile())
	changed := false
	for _, s := range fdp.GetService() {
		if s.GetName() != string(sd.Name()) {
			continue
		}
		for _, m := range s.GetMethod() {
			rule, ok := proto.GetExtension(m.GetOptions(), annotations.E_Http).(*annotations.HttpRule)
			if !ok || rule == nil {
				continue
			}
			_, path := ruleMethodPath(rule)
			segs := strings.Split(path, "/")
			for i, seg := range segs[:len(segs)-1] {
				if strings.Contains(seg, ":") && !strings.Contains(seg, "{") {
					alias := strings.ReplaceAll(seg, ":", "/_colon_/")
					aliases[seg] = alias
					segs[i] = alias
				}
			}
			if np := strings.Join(segs, "/"); np != path {
				rule = proto.Clone(rule).(*annotations.HttpRule)
				if g, ok := rule.GetPattern().(*annotations.HttpRule_Get); ok {
					g.Get = np
				} else {
					return nil, fmt.Errorf("%s: only GET routes with a colon inside the path are supported", m.GetName())
				}
				opts := proto.Clone(m.GetOptions()).(*descriptorpb.MethodOptions)
				proto.SetExtension(opts, annotations.E_Http, rule)
				m.Options = opts
				changed = true
			}
		}
	}
	if !changed {
		return sd, nil
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		return nil, err
	}
	return fd.Services().ByName(sd.Name()), nil
}

// rewriteAliases maps incoming colon segments onto their aliases.
func rewriteAliases(aliases map[string]string, next http.Handler) http.Handler {
	if len(aliases) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, ":") && !isRPC(r) {
			segs := strings.Split(r.URL.Path, "/")
			for i, seg := range segs[:len(segs)-1] {
				if a, ok := aliases[seg]; ok {
					segs[i] = a
				}
			}
			r.URL.Path = strings.Join(segs, "/")
			r.URL.RawPath = ""
		}
		next.ServeHTTP(w, r)
	})
}
