package importer

import (
	"crypto/sha256"
	"encoding/hex"
	"runtime"
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/proto"

	gatehousev1 "github.com/gatehouse/gatehouse/gen/gatehouse/v1"
)

// maxBatchBytes keeps a batch's message under the server's 1 MiB request
// limit: a batch whose rows (large metadata, long hashes) would exceed it
// is split in halves until it fits.
const maxBatchBytes = 900 << 10

// MaxBatchSize is the most users (or organizations) one batch carries,
// the bulk API's limit.
const MaxBatchSize = 1000

// batch is one call's worth of rows. Batches are cut from the file in
// order, so the same file and batch size give the same batches, and each
// is known by the digest of its content: the state file records digests,
// so a resumed run skips exactly the batches already written.
type batch struct {
	phase string // "organizations" or "users"
	index int    // position in its phase
	orgs  []Organization
	users []User
	// known are file organizations this batch's users name, sent along in
	// a dry run (where nothing is created) so the server treats them as
	// existing; their own results are not counted.
	known  []Organization
	digest string
}

func (b *batch) size() int { return len(b.orgs) + len(b.users) }

// request builds the bulk API message for b.
func (b *batch) request(dry bool) *gatehousev1.ImportBatchRequest {
	req := &gatehousev1.ImportBatchRequest{DryRun: dry}
	for _, o := range append(b.orgs[:len(b.orgs):len(b.orgs)], b.known...) {
		req.Organizations = append(req.Organizations, &gatehousev1.ImportOrganization{ExternalId: o.ExternalID, Id: o.ID,
			DisplayName: o.DisplayName, Metadata: o.Metadata, Slug: o.Slug, LogoUrl: o.LogoURL, RegionCode: o.RegionCode})
	}
	for _, u := range b.users {
		pu := &gatehousev1.ImportUser{Email: u.Email, ExternalId: u.ExternalID, FirstName: u.FirstName, LastName: u.LastName,
			Name: u.Name, Locale: u.Locale, EmailVerified: u.EmailVerified, Metadata: u.Metadata, PasswordHash: u.PasswordHash,
			PhoneNumber: u.PhoneNumber, PreferredUsername: u.PreferredUsername, Picture: u.Picture, Gender: u.Gender,
			Groups: u.Groups, ProfileMetadata: u.ProfileMetadata, CustomAttributes: u.CustomAttributes}
		for _, m := range u.Memberships {
			pu.Memberships = append(pu.Memberships, &gatehousev1.ImportMembership{OrganizationExternalId: m.OrganizationExternalID,
				OrganizationId: m.OrganizationID, Roles: m.Roles, Metadata: m.Metadata})
		}
		req.Users = append(req.Users, pu)
	}
	return req
}

// makeBatches cuts the dataset into organization batches and user
// batches of at most size rows (and maxBatchBytes), each with its digest.
// mode ("bulk" or "compat") is part of the digest, so that state written
// by one mode never skips work of the other.
func makeBatches(d *Dataset, size int, dry bool, mode string) (orgs, users []*batch) {
	for start := 0; start < len(d.Organizations); start += size {
		orgs = append(orgs, fit(&batch{phase: "organizations", orgs: d.Organizations[start:min(start+size, len(d.Organizations))]}, dry)...)
	}
	fileOrgs := map[string]Organization{}
	for _, o := range d.Organizations {
		fileOrgs[o.ExternalID] = o
	}
	for start := 0; start < len(d.Users); start += size {
		b := &batch{phase: "users", users: d.Users[start:min(start+size, len(d.Users))]}
		users = append(users, fit(b, dry)...)
	}
	for _, list := range [][]*batch{orgs, users} {
		for i, b := range list {
			b.index = i
			if dry {
				b.known = knownOrgs(b.users, fileOrgs)
			}
		}
	}
	digestAll(append(orgs[:len(orgs):len(orgs)], users...), mode)
	return orgs, users
}

// digestAll sets every batch's digest, on all CPUs: encoding a million
// users' batches takes seconds, and nothing is sent before it is done.
// The encoding is deterministic, so the digests do not depend on the
// order.
func digestAll(bs []*batch, mode string) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(bs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < len(bs); i = int(next.Add(1)) - 1 {
				bs[i].digest = digest(bs[i], mode)
			}
		}()
	}
	wg.Wait()
}

// digest is the digest of b's content (without the known organizations
// of a dry run, so that a dry run and a real one agree).
func digest(b *batch, mode string) string {
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(b.request(false))
	if err != nil {
		panic("importer: cannot marshal a batch: " + err.Error()) // plain strings and maps only
	}
	sum := sha256.Sum256(append([]byte(mode+"\x00"+b.phase+"\x00"), raw...))
	return hex.EncodeToString(sum[:])
}

// fit splits b in halves until each part's message is small enough.
func fit(b *batch, dry bool) []*batch {
	if b.size() <= 1 || proto.Size(b.request(dry)) <= maxBatchBytes {
		return []*batch{b}
	}
	if len(b.orgs) > 0 {
		h := len(b.orgs) / 2
		return append(fit(&batch{phase: b.phase, orgs: b.orgs[:h]}, dry), fit(&batch{phase: b.phase, orgs: b.orgs[h:]}, dry)...)
	}
	h := len(b.users) / 2
	return append(fit(&batch{phase: b.phase, users: b.users[:h]}, dry), fit(&batch{phase: b.phase, users: b.users[h:]}, dry)...)
}

// knownOrgs lists the file organizations users name, each once.
func knownOrgs(users []User, fileOrgs map[string]Organization) []Organization {
	var out []Organization
	seen := map[string]bool{}
	for _, u := range users {
		for _, m := range u.Memberships {
			if o, ok := fileOrgs[m.OrganizationExternalID]; ok && !seen[o.ExternalID] {
				seen[o.ExternalID] = true
				out = append(out, o)
			}
		}
	}
	return out
}
