package accounts

import (
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/apierr"
)

// checkMetadata enforces the documented metadata limits.
func checkMetadata(v *apierr.Violations, field string, m map[string]string) {
	if len(m) > MaxMetadataKeys {
		v.Add(field, fmt.Sprintf("must have at most %d keys", MaxMetadataKeys))
	}
	for k, val := range m {
		switch {
		case k == "" || utf8.RuneCountInString(k) > MaxMetadataKeyLen:
			v.Add(field+"."+k, fmt.Sprintf("keys must be 1 to %d characters", MaxMetadataKeyLen))
		case utf8.RuneCountInString(val) > MaxMetadataValueLen:
			v.Add(field+"."+k, fmt.Sprintf("values must be at most %d characters", MaxMetadataValueLen))
		}
	}
}

// normDisplayName trims and checks a display name.
func normDisplayName(v *apierr.Violations, field, s string) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		v.Add(field, "must not be empty")
	case utf8.RuneCountInString(s) > MaxDisplayNameLen:
		v.Add(field, fmt.Sprintf("must be at most %d characters", MaxDisplayNameLen))
	}
	return s
}

// normExternalID trims an external id; an empty one means none.
func normExternalID(v *apierr.Violations, field string, s *string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	if t == "" {
		return nil
	}
	if utf8.RuneCountInString(t) > MaxExternalIDLen {
		v.Add(field, fmt.Sprintf("must be at most %d characters", MaxExternalIDLen))
	}
	for _, r := range t {
		if unicode.IsControl(r) {
			v.Add(field, "must not contain control characters")
			break
		}
	}
	return &t
}

// NormalizeEmail trims an address, checks it is a bare address, and returns
// it as given plus its lower-case form, which is what must be unique.
func NormalizeEmail(v *apierr.Violations, field, s string) (string, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		v.Add(field, "must not be empty")
		return s, s
	}
	a, err := mail.ParseAddress(s)
	at := strings.LastIndexByte(s, '@')
	if err != nil || a.Address != s || a.Name != "" || len(s) > 254 || at < 1 || !strings.Contains(s[at+1:], ".") {
		v.Add(field, "must be a valid email address like name@example.com")
		return s, strings.ToLower(s)
	}
	return s, strings.ToLower(s)
}

// checkURL accepts an absolute http(s) URL.
func checkURL(v *apierr.Violations, field string, s *string) {
	if s == nil || *s == "" {
		return
	}
	u, err := url.Parse(*s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(*s) > 2048 {
		v.Add(field, "must be an absolute http or https URL of at most 2048 characters")
	}
}

// maskHas reports whether an update applies to path: with no mask, a field
// applies when the request set it; with a mask, exactly the listed paths
// apply.
type mask map[string]bool

func newMask(v *apierr.Violations, paths []string, allowed ...string) mask {
	if len(paths) == 0 {
		return nil
	}
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	m := mask{}
	for _, p := range paths {
		p = snake(p)
		if !ok[p] {
			v.Add("update_mask", fmt.Sprintf("unknown path %q; allowed: %s", p, strings.Join(allowed, ", ")))
			continue
		}
		m[p] = true
	}
	return m
}

// applies reports whether path is updated, given whether the request set it.
func (m mask) applies(path string, set bool) bool {
	if m == nil {
		return set
	}
	return m[path]
}

// snake turns lowerCamel mask paths (REST query form) into proto names.
func snake(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsUpper(r) {
			b.WriteByte('_')
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
