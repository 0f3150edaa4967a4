package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/importer"
)

// apiFlags are the connection flags of the commands that manage a running
// server through its REST API (redirects, branding): where it is, and the
// API client to authenticate as (client credentials, as the SDKs do).
type apiFlags struct {
	server, clientID, clientSecret string
	env                            *envFlags
}

// bindAPIFlags adds the connection flags to cmd and all its subcommands.
func bindAPIFlags(cmd *cobra.Command) *apiFlags {
	a := &apiFlags{}
	fs := cmd.PersistentFlags()
	fs.StringVar(&a.server, "server", "http://127.0.0.1:8080", "URL of the running Gatehouse server")
	fs.StringVar(&a.clientID, "client-id", "", "API client id (skc_...)")
	fs.StringVar(&a.clientSecret, "client-secret", "", "API client secret")
	a.env = &envFlags{fs: fs}
	a.env.bind("server", "GATEHOUSE_SERVER")
	a.env.bind("client-id", "GATEHOUSE_CLIENT_ID")
	a.env.bind("client-secret", "GATEHOUSE_CLIENT_SECRET")
	return a
}

// apiClient calls one server's REST API with a management token.
type apiClient struct {
	base  string
	http  *http.Client
	token string
}

// connect reads the variables, checks the flags and fetches a token.
func (a *apiFlags) connect(ctx context.Context) (*apiClient, error) {
	if err := a.env.apply(); err != nil {
		return nil, err
	}
	base := strings.TrimRight(a.server, "/")
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server %q: must be the server's http(s) URL, such as http://127.0.0.1:8080", a.server)
	}
	if a.clientID == "" || a.clientSecret == "" {
		return nil, errors.New("--client-id and --client-secret (or GATEHOUSE_CLIENT_ID and GATEHOUSE_CLIENT_SECRET) are required")
	}
	c := &apiClient{base: base, http: &http.Client{Timeout: 30 * time.Second}}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {a.clientID}, "client_secret": {a.clientSecret}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the server at %s: %w", base, unwrapURLError(err))
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = json.Unmarshal(body, &tok)
	if resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		if tok.Error != "" {
			return nil, fmt.Errorf("the server refused the client credentials: %s %s", tok.Error, tok.Description)
		}
		return nil, fmt.Errorf("the server at %s answered %s to the token request; is it a Gatehouse server?", base, resp.Status)
	}
	c.token = tok.AccessToken
	return c, nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// do sends in (if not nil) as JSON and decodes the answer into out. An
// error answer becomes one line: the message and each field violation.
func (c *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the server at %s: %w", c.base, unwrapURLError(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return parseAPIError(resp.Status, raw)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("the server's answer to %s %s is not the JSON expected: %w", method, path, err)
	}
	return nil
}

// apiError is a REST error answer: its message and field violations.
type apiError struct {
	Status     string
	Message    string
	Violations []apiViolation
}

type apiViolation struct{ Field, Description, Constraint string }

func parseAPIError(status string, raw []byte) *apiError {
	var body struct {
		Message string `json:"message"`
		Details []struct {
			Validation struct {
				Violations []struct {
					Field       string `json:"field"`
					Description string `json:"description"`
					Constraint  string `json:"constraint"`
				} `json:"field_violations"`
			} `json:"validation_error_info"`
		} `json:"details"`
	}
	e := &apiError{Status: status}
	if json.Unmarshal(raw, &body) != nil || body.Message == "" {
		e.Message = strings.TrimSpace(string(raw))
		return e
	}
	e.Message = body.Message
	for _, d := range body.Details {
		for _, v := range d.Validation.Violations {
			e.Violations = append(e.Violations, apiViolation{v.Field, v.Description, v.Constraint})
		}
	}
	return e
}

// Error is one line: "message: field: description (rule r); ...".
func (e *apiError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "the server answered " + e.Status
	}
	if len(e.Violations) == 0 {
		return msg
	}
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Field + ": " + v.Description
		if v.Constraint != "" && !strings.Contains(v.Description, "rule "+v.Constraint) {
			parts[i] += " (rule " + v.Constraint + ")"
		}
	}
	return msg + ": " + strings.Join(parts, "; ")
}

// importerConn checks the flags and credentials with one token request and
// returns the importer's connection (which import and export both use),
// starting with that token and fetching a new one whenever the connection
// asks for a fresh one; its workers may ask concurrently.
func (a *apiFlags) importerConn(ctx context.Context) (*importer.Conn, error) {
	first, err := a.connect(ctx)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	tokens := func(ctx context.Context, fresh bool) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if !fresh && first != nil {
			tok := first.token
			first = nil
			return tok, nil
		}
		c, err := a.connect(ctx)
		if err != nil {
			return "", err
		}
		return c.token, nil
	}
	return importer.NewConn(strings.TrimRight(a.server, "/"), tokens), nil
}
