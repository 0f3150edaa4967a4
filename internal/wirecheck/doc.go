// Package wirecheck holds only a test: it proves that the generated protobuf
// descriptors under gen/scalekit/v1/... are wire-identical to the Scalekit
// management API as recorded in testdata/scalekit-wire-schema.txt (a verbatim
// copy of the wire schema read off the official Scalekit SDK descriptors).
//
// The official SDKs address our server by gRPC/Connect procedure names
// (/scalekit.v1.organizations.OrganizationService/CreateOrganization), by
// field numbers and by REST routes (google.api.http), so any drift between
// proto/scalekit/v1/**.proto and the schema silently breaks SDK
// compatibility. The test renders every registered scalekit.v1 service,
// message and enum back into the schema's own line format and compares the
// two in both directions; scalekit.v1.errdetails (described only in the
// schema's header comment) is checked separately.
package wirecheck
