package accounts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"runtime"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Password hashes at import. The stored hash is passwords.Import(source):
// the source itself for slow hashes, argon2id around it for fast digests.
// Whether a re-imported hash is the one imported before is decided against
// the user's import record (user_imports.hash_source), never against the
// current hash, which the login replaces at the first sign-in: so a
// re-import neither counts a logged-in user as changed nor puts their old
// hash back, and a password changed in the source since is imported again.
//
// Wrapping a digest, and comparing a digest with a wrapped one, each cost
// one argon2id, so both run before the transaction, in parallel. Slow
// hashes (bcrypt and the like) are stored as they came and compared by a
// SHA-256, which plan does inside the transaction at no cost worth a
// lookup of its own.

// wrapsDigest reports whether passwords.Import wraps hashes of format f in
// argon2id (the fast digests). Were a new digest format missing here, its
// rows would only be wrapped inside the transaction instead of before it.
func wrapsDigest(f passwords.Format) bool {
	return f == passwords.FormatDigest || f == passwords.FormatLDAP || f == passwords.FormatDjangoDigest
}

// hashSourceOf is what user_imports.hash_source records for a source hash
// and the value stored for it.
func hashSourceOf(source, imported string) string {
	if imported == source {
		sum := sha256.Sum256([]byte(source))
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	return imported
}

// sameHash reports whether source is the hash a record's hash_source names.
func sameHash(recorded, source string) bool {
	switch {
	case recorded == "":
		return false
	case strings.HasPrefix(recorded, "sha256:"):
		sum := sha256.Sum256([]byte(source))
		return recorded == "sha256:"+hex.EncodeToString(sum[:])
	}
	same, err := passwords.SameImport(recorded, source)
	return err == nil && same
}

// decideHash works out, for a row whose hash is valid, whether it is the
// one recorded, and if not (and it will be written) its stored form.
func (r *userRow) decideHash(recorded string, dry bool) error {
	r.hashBase, r.hashSame, r.hashReady = recorded, sameHash(recorded, r.in.PasswordHash), true
	if r.hashSame || dry || r.imported != "" {
		return nil
	}
	imported, err := passwords.Import(r.in.PasswordHash)
	if err != nil {
		return err // Parse accepted it in check, so this is not the row's fault
	}
	r.imported, r.hashSource = imported, hashSourceOf(r.in.PasswordHash, imported)
	return nil
}

// prepareHashes compares every row's fast digest with the import record
// of the user it probably matches (read outside the transaction; plan
// checks the record again inside it) and makes the stored form of the
// digests that will be written.
func (s *Service) prepareHashes(ctx context.Context, rows []*userRow, dry bool) error {
	var todo []*userRow
	var exts, emails []string
	for _, r := range rows {
		if len(r.perm) > 0 || !wrapsDigest(r.hashFormat) {
			continue
		}
		todo = append(todo, r)
		if r.ext != nil {
			exts = append(exts, *r.ext)
		}
		emails = append(emails, r.emailNorm)
	}
	if len(todo) == 0 {
		return nil
	}
	q := s.Store.Q()
	found, err := q.UsersForImportNoMemberships(ctx, s.EnvID, exts, emails)
	if err != nil {
		return err
	}
	byExt, byEmail := map[string]*store.User{}, map[string]*store.User{}
	ids := make([]string, 0, len(found))
	for _, u := range found {
		if u.ExternalID != nil {
			byExt[*u.ExternalID] = u
		}
		byEmail[strings.ToLower(u.Email)] = u
		ids = append(ids, u.ID)
	}
	records, err := q.UserImports(ctx, s.EnvID, ids)
	if err != nil {
		return err
	}
	recorded := make([]string, len(todo))
	for i, r := range todo {
		u := byEmail[r.emailNorm]
		if r.ext != nil && byExt[*r.ext] != nil {
			u = byExt[*r.ext]
		}
		if u != nil {
			recorded[i] = records[u.ID].HashSource
		}
	}
	return parallel(ctx, len(todo), func(i int) error { return todo[i].decideHash(recorded[i], dry) })
}

// parallel runs fn(0..n-1) on as many goroutines as there are CPUs and
// returns the first error.
func parallel(ctx context.Context, n int, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	next := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}
