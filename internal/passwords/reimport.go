package passwords

import "fmt"

// SameImport reports whether imported, a value Import returned earlier,
// was made from source. Importing a tenant twice must change nothing the
// second time, but Import wraps a fast digest in argon2id under a fresh
// salt, so the two imported strings differ even when the source hash is
// the same. For a slow hash Import returns the source unchanged, so the
// strings are simply compared; for a fast digest the digest parameters are
// compared and then argon2id is computed over the source's raw digest with
// the wrapped hash's salt, which costs one argon2id (as Import itself
// does). The comparison is constant-time.
//
// err is non-nil when source cannot be imported at all.
func SameImport(imported, source string) (bool, error) {
	s, err := parse(source)
	if err != nil {
		return false, err
	}
	src, ok := s.(*digestHash)
	if !ok || src.wrapped != nil {
		return imported == source, nil
	}
	w, err := parse(imported)
	if err != nil {
		return false, nil
	}
	prev, ok := w.(*digestHash)
	if !ok || prev.wrapped == nil || prev.spec() != src.spec() {
		return false, nil
	}
	same, err := prev.wrapped.verify(src.want)
	if err != nil {
		return false, fmt.Errorf("passwords: comparing imports: %w", err)
	}
	return same, nil
}
