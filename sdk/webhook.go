package sdk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook headers (Standard Webhooks).
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// WebhookTolerance is how far a webhook's timestamp may be from now, in
// either direction.
const WebhookTolerance = 5 * time.Minute

// Errors of VerifyWebhookPayload; all of them mean: do not trust the body.
var (
	ErrWebhookMissingHeaders = errors.New("gatehouse: webhook: missing webhook-id, webhook-timestamp or webhook-signature")
	ErrWebhookInvalidSecret  = errors.New("gatehouse: webhook: the secret must be whsec_ followed by base64")
	ErrWebhookTimestamp      = errors.New("gatehouse: webhook: timestamp missing, malformed, or more than 5 minutes from now")
	ErrWebhookSignature      = errors.New("gatehouse: webhook: no valid v1 signature")
)

// VerifyWebhookPayload checks that a webhook delivery was signed with
// secret (whsec_...) and is recent, using the client's clock. headers are
// the request's headers and payload its raw body, unparsed: verify first,
// then decode. See VerifyWebhookPayloadAt.
func (c *Client) VerifyWebhookPayload(secret string, headers http.Header, payload []byte) error {
	return VerifyWebhookPayloadAt(secret, headers, payload, c.now())
}

// VerifyWebhookPayloadAt verifies a webhook delivery as Standard Webhooks
// and Scalekit's SDKs define it, at the time now. The secret is whsec_
// followed by the base64 signing key. The signature header holds
// space-separated entries "v1,<base64 HMAC-SHA256>" of
// "{webhook-id}.{webhook-timestamp}.{payload}"; entries of other versions
// are ignored, and one matching v1 entry (compared in constant time)
// suffices. The timestamp (Unix seconds) must be within WebhookTolerance
// of now. It returns nil or one of the ErrWebhook errors.
func VerifyWebhookPayloadAt(secret string, headers http.Header, payload []byte, now time.Time) error {
	id, ts, sigs := headers.Get(HeaderWebhookID), headers.Get(HeaderWebhookTimestamp), headers.Get(HeaderWebhookSignature)
	if id == "" || ts == "" || sigs == "" {
		return ErrWebhookMissingHeaders
	}
	key, err := webhookKey(secret)
	if err != nil {
		return err
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrWebhookTimestamp
	}
	at := time.Unix(sec, 0)
	if now.Sub(at) > WebhookTolerance || at.Sub(now) > WebhookTolerance {
		return ErrWebhookTimestamp
	}
	// Signed over the timestamp as a plain integer, as the Node SDK does.
	want := webhookMAC(key, id, strconv.FormatInt(sec, 10), payload)
	for _, entry := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrWebhookSignature
}

// SignWebhookPayload returns the webhook-signature header value ("v1,"
// and the base64 HMAC) for a delivery: what Gatehouse sends, and what a
// test of a webhook receiver needs.
func SignWebhookPayload(secret, id string, timestamp time.Time, payload []byte) (string, error) {
	key, err := webhookKey(secret)
	if err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(webhookMAC(key, id, strconv.FormatInt(timestamp.Unix(), 10), payload)), nil
}

func webhookKey(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, "whsec_")
	if !ok || b64 == "" {
		return nil, ErrWebhookInvalidSecret
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		if key, err = base64.RawStdEncoding.DecodeString(b64); err != nil {
			return nil, ErrWebhookInvalidSecret
		}
	}
	return key, nil
}

func webhookMAC(key []byte, id, ts string, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(payload)
	return m.Sum(nil)
}
