package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testdb"
	"github.com/gatehouse/gatehouse/sdk"
)

// The Standard Webhooks reference vector (standard-webhooks spec and the
// Svix libraries' tests).
const (
	vecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vecID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vecTS     = 1614265330
	vecBody   = `{"test": 2432232314}`
	vecSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func hdr(id, ts, sig string) http.Header {
	h := http.Header{}
	if id != "" {
		h.Set("webhook-id", id)
	}
	if ts != "" {
		h.Set("webhook-timestamp", ts)
	}
	if sig != "" {
		h.Set("webhook-signature", sig)
	}
	return h
}

func TestWebhookVector(t *testing.T) {
	at := time.Unix(vecTS, 0)
	sig, err := sdk.SignWebhookPayload(vecSecret, vecID, at, []byte(vecBody))
	if err != nil || sig != vecSig {
		t.Fatalf("SignWebhookPayload = %q, %v; want %q", sig, err, vecSig)
	}
	if err := sdk.VerifyWebhookPayloadAt(vecSecret, hdr(vecID, strconv.Itoa(vecTS), vecSig), []byte(vecBody), at); err != nil {
		t.Fatalf("the reference vector: %v", err)
	}
}

func TestWebhookRefusals(t *testing.T) {
	at := time.Unix(vecTS, 0)
	ts := strconv.Itoa(vecTS)
	body := []byte(vecBody)
	other, _ := sdk.SignWebhookPayload("whsec_"+"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", vecID, at, body)
	for _, c := range []struct {
		name    string
		secret  string
		h       http.Header
		body    string
		now     time.Time
		want    error
		wantNil bool
	}{
		{name: "several signatures, one good", h: hdr(vecID, ts, other+" "+vecSig), wantNil: true},
		{name: "v2 entry then v1", h: hdr(vecID, ts, "v2,"+vecSig[3:]+" "+vecSig), wantNil: true},
		{name: "4m59s old", h: hdr(vecID, ts, vecSig), now: at.Add(299 * time.Second), wantNil: true},
		{name: "4m59s ahead", h: hdr(vecID, ts, vecSig), now: at.Add(-299 * time.Second), wantNil: true},
		{name: "timestamp 5m01s old", h: hdr(vecID, ts, vecSig), now: at.Add(301 * time.Second), want: sdk.ErrWebhookTimestamp},
		{name: "timestamp 5m01s ahead", h: hdr(vecID, ts, vecSig), now: at.Add(-301 * time.Second), want: sdk.ErrWebhookTimestamp},
		{name: "timestamp not a number", h: hdr(vecID, "soon", vecSig), want: sdk.ErrWebhookTimestamp},
		{name: "body changed", h: hdr(vecID, ts, vecSig), body: `{"test": 2432232315}`, want: sdk.ErrWebhookSignature},
		{name: "id changed", h: hdr("msg_other", ts, vecSig), want: sdk.ErrWebhookSignature},
		{name: "timestamp changed (within tolerance)", h: hdr(vecID, strconv.Itoa(vecTS+1), vecSig), want: sdk.ErrWebhookSignature},
		{name: "other secret", h: hdr(vecID, ts, other), want: sdk.ErrWebhookSignature},
		{name: "only a v2 entry", h: hdr(vecID, ts, "v2,"+vecSig[3:]), want: sdk.ErrWebhookSignature},
		{name: "no version", h: hdr(vecID, ts, vecSig[3:]), want: sdk.ErrWebhookSignature},
		{name: "signature not base64", h: hdr(vecID, ts, "v1,!!!"), want: sdk.ErrWebhookSignature},
		{name: "truncated signature", h: hdr(vecID, ts, vecSig[:20]), want: sdk.ErrWebhookSignature},
		{name: "no id", h: hdr("", ts, vecSig), want: sdk.ErrWebhookMissingHeaders},
		{name: "no timestamp", h: hdr(vecID, "", vecSig), want: sdk.ErrWebhookMissingHeaders},
		{name: "no signature", h: hdr(vecID, ts, ""), want: sdk.ErrWebhookMissingHeaders},
		{name: "secret without prefix", secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", h: hdr(vecID, ts, vecSig), want: sdk.ErrWebhookInvalidSecret},
		{name: "secret not base64", secret: "whsec_***", h: hdr(vecID, ts, vecSig), want: sdk.ErrWebhookInvalidSecret},
	} {
		secret, now, b := c.secret, c.now, c.body
		if secret == "" {
			secret = vecSecret
		}
		if now.IsZero() {
			now = at
		}
		if b == "" {
			b = vecBody
		}
		err := sdk.VerifyWebhookPayloadAt(secret, c.h, []byte(b), now)
		switch {
		case c.wantNil && err != nil:
			t.Errorf("%s: %v, want nil", c.name, err)
		case !c.wantNil && !errors.Is(err, c.want):
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// TestWebhookNodeSDK checks both directions against the official Node
// SDK's verifyWebhookPayload: what the Go SDK signs, Node accepts (and a
// changed body it refuses); what Node's algorithm signs, Go accepts.
func TestWebhookNodeSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		testdb.SkipOrFail(t, "node is not installed")
	}
	dir := filepath.Join("..", "tests", "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@scalekit-sdk", "node")); err != nil {
		testdb.SkipOrFail(t, "the Node SDK is not installed: run npm ci --prefix tests/node")
	}
	secret := "whsec_" + "c2VjcmV0LWtleS1mb3ItdGhlLW5vZGUtY3Jvc3MtY2hlY2s="
	now := time.Now()
	body := `{"type":"user.created","data":{"id":"usr_1","email":"ada@acme.example"}}`
	sig, err := sdk.SignWebhookPayload(secret, "evt_1", now, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	in, _ := json.Marshal(map[string]string{"secret": secret, "id": "evt_1", "ts": strconv.FormatInt(now.Unix(), 10), "sig": sig, "body": body})
	script := `
const { ScalekitClient } = require('@scalekit-sdk/node');
const crypto = require('crypto');
const v = JSON.parse(process.argv[1]);
const c = new ScalekitClient('http://127.0.0.1:1', 'skc_x', 'y');
const h = { 'webhook-id': v.id, 'webhook-timestamp': v.ts, 'webhook-signature': v.sig };
const out = { goSigned: false, tampered: false };
out.goSigned = c.verifyWebhookPayload(v.secret, h, v.body);
try { c.verifyWebhookPayload(v.secret, h, v.body + ' '); out.tampered = true; } catch (e) { out.tampered = false; }
out.nodeSig = 'v1,' + crypto.createHmac('sha256', Buffer.from(v.secret.split('_')[1], 'base64'))
  .update(v.id + '.' + v.ts + '.' + v.body).digest('base64');
console.log(JSON.stringify(out));
`
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "-e", script, string(in))
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var res struct {
		GoSigned bool   `json:"goSigned"`
		Tampered bool   `json:"tampered"`
		NodeSig  string `json:"nodeSig"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("node said %s", out)
	}
	if !res.GoSigned || res.Tampered {
		t.Fatalf("Node SDK: accepted Go's signature = %v, accepted a changed body = %v", res.GoSigned, res.Tampered)
	}
	if err := sdk.VerifyWebhookPayloadAt(secret, hdr("evt_1", strconv.FormatInt(now.Unix(), 10), res.NodeSig), []byte(body), now); err != nil {
		t.Fatalf("Go refused Node's signature: %v", err)
	}
}
