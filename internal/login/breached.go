package login

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The breached-password check (SECURITY-BAR A04, ASVS 6.2.12): a new
// password is looked up in a Have I Been Pwned-compatible range API
// (--breached-passwords-url, e.g. https://api.pwnedpasswords.com) by
// k-anonymity. Only the first 5 hex digits of the password's SHA-1 leave
// the server; the API answers with the suffixes of every breached hash
// under that prefix, padded with fake ones, and the match is made here.
const (
	// BreachedTimeout bounds one lookup: someone is waiting on the form.
	BreachedTimeout = 2 * time.Second
	// breachedMaxBody is the most of an answer read. A real one is about
	// 1,000 lines of 40 bytes; more means the URL is not a range API.
	breachedMaxBody = 1 << 20
)

// errBreached is the refusal of a password found in a breach, a sentence
// for the user.
var errBreached = errors.New("This password has appeared in a data breach; choose another.")

// BreachedPasswords asks one range API. It holds no state but its
// settings and client, so it is safe for concurrent use.
type BreachedPasswords struct {
	base   string // without the trailing slash
	client *http.Client
}

// NewBreachedPasswords checks against the range API at base (the URL
// before /range/, validated by internal/config); base "" means no check
// and returns nil.
func NewBreachedPasswords(base string) *BreachedPasswords {
	if base == "" {
		return nil
	}
	return &BreachedPasswords{base: strings.TrimRight(base, "/"), client: &http.Client{
		Timeout: BreachedTimeout,
		// A redirect could lead to plain http or another host: not followed,
		// it is an answer that is not 200, so the check fails open.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Breached reports whether pw is in the API's breach corpus. An error
// means the API gave no usable answer; it never contains the hash prefix.
func (b *BreachedPasswords) Breached(ctx context.Context, pw string) (bool, error) {
	sum := sha1.Sum([]byte(pw))
	hash := strings.ToUpper(hex.EncodeToString(sum[:]))
	prefix, suffix := hash[:5], hash[5:]
	ctx, cancel := context.WithTimeout(ctx, BreachedTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.base+"/range/"+prefix, nil)
	if err != nil {
		return false, errors.New("the breached-passwords URL is not usable")
	}
	// Padding makes every answer about the same size, so that someone
	// watching the (encrypted) traffic cannot tell the prefix from it.
	req.Header.Set("Add-Padding", "true")
	req.Header.Set("User-Agent", "Gatehouse-BreachedPasswords/1")
	resp, err := b.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL would put the prefix in the log
		}
		return false, fmt.Errorf("no answer: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("status %d", resp.StatusCode)
	}
	return findSuffix(io.LimitReader(resp.Body, breachedMaxBody), suffix)
}

// findSuffix reads a range answer, lines of SUFFIX:COUNT, and reports
// whether suffix is there with a count above zero. Padding lines have a
// count of 0 and are no breach.
func findSuffix(r io.Reader, suffix string) (bool, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		s, c, ok := strings.Cut(line, ":")
		n, err := strconv.ParseUint(strings.TrimSpace(c), 10, 64)
		if !ok || err != nil || len(s) != len(suffix) {
			return false, errors.New("an answer that is not a range of SUFFIX:COUNT lines")
		}
		if n > 0 && strings.EqualFold(s, suffix) {
			return true, nil
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("reading the answer: %w", err)
	}
	return false, nil
}

// checkNewPassword applies the password policy to a password being
// chosen (reset, set by link, account page; never at sign-in with an
// existing one), then, when configured, the breached-password check.
//
// That check fails open: when the API does not answer in time or answers
// nonsense, a warning is logged and the password is accepted on the other
// rules. The API is a third party; its outage must not stop people from
// resetting a forgotten password, which would lock them out of every app
// behind Gatehouse.
func (h *Handler) checkNewPassword(ctx context.Context, pw, email string) error {
	if err := h.policy.Check(pw, email); err != nil {
		return err
	}
	if h.breached == nil {
		return nil
	}
	found, err := h.breached.Breached(ctx, pw)
	switch {
	case err != nil:
		h.Log.WarnContext(ctx, "breached-password check failed; the password is accepted without it", "err", err)
	case found:
		return errBreached
	}
	return nil
}
