// Package apierr is the one place API errors are made: a gRPC code, a
// stable error_code and the field violations that say which field broke
// which rule. Handlers turn these into connect errors carrying Scalekit's
// ErrorInfo detail; REST shows them as an HTTP status and JSON.
package apierr

import (
	"errors"
	"fmt"
	"strings"

	"connectrpc.com/connect"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Error is an API error with a code clients can act on.
type Error struct {
	Code       connect.Code
	ErrorCode  string // stable, upper snake case, e.g. "ALREADY_EXISTS"
	Message    string
	Violations []Violation
	// RetryAfterSeconds, when positive, is sent as Retry-After.
	RetryAfterSeconds int
}

// Violation names one field and the rule its value broke.
type Violation struct {
	Field       string
	Description string
	Constraint  string
}

func (e *Error) Error() string {
	if len(e.Violations) == 0 {
		return e.Message
	}
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Field + ": " + v.Description
	}
	return e.Message + ": " + strings.Join(parts, "; ")
}

// InvalidArgument reports bad input, one violation per broken rule.
func InvalidArgument(vs ...Violation) *Error {
	return &Error{Code: connect.CodeInvalidArgument, ErrorCode: "INVALID_ARGUMENT", Message: "invalid request", Violations: vs}
}

// NotFound reports that the named object does not exist.
func NotFound(kind, ref string) *Error {
	return &Error{Code: connect.CodeNotFound, ErrorCode: "NOT_FOUND", Message: fmt.Sprintf("%s %q not found", kind, ref)}
}

// AlreadyExists reports a uniqueness violation on field.
func AlreadyExists(kind, field string) *Error {
	return &Error{
		Code: connect.CodeAlreadyExists, ErrorCode: "ALREADY_EXISTS",
		Message:    fmt.Sprintf("%s with this %s already exists", kind, field),
		Violations: []Violation{{Field: field, Description: "must be unique in the environment", Constraint: "unique"}},
	}
}

// FailedPrecondition reports a request that is valid but not now.
func FailedPrecondition(msg string) *Error {
	return &Error{Code: connect.CodeFailedPrecondition, ErrorCode: "FAILED_PRECONDITION", Message: msg}
}

// Unauthenticated reports a missing or bad credential.
func Unauthenticated(msg string) *Error {
	return &Error{Code: connect.CodeUnauthenticated, ErrorCode: "UNAUTHENTICATED", Message: msg}
}

// ResourceExhausted reports a rate limit hit.
func ResourceExhausted(msg string, retryAfter int) *Error {
	return &Error{Code: connect.CodeResourceExhausted, ErrorCode: "RATE_LIMITED", Message: msg, RetryAfterSeconds: retryAfter}
}

// Internal hides the cause from the caller; the cause is logged.
func Internal() *Error {
	return &Error{Code: connect.CodeInternal, ErrorCode: "INTERNAL", Message: "internal error"}
}

// FromStore maps storage sentinels for an object kind; other errors pass
// through unchanged (and become Internal at the edge).
func FromStore(err error, kind, ref string) error {
	var conflict *store.ErrConflict
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return NotFound(kind, ref)
	case errors.As(err, &conflict):
		return AlreadyExists(kind, conflict.Field)
	}
	return err
}

// Violations collects broken rules; Err returns nil when there are none.
type Violations []Violation

// Add records that field broke rule.
func (v *Violations) Add(field, rule string) {
	*v = append(*v, Violation{Field: field, Description: rule})
}

// Err returns an InvalidArgument error listing every violation, or nil.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	return InvalidArgument(v...)
}
