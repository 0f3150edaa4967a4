package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

const redirectsPath = "/api/v1/settings/redirects"

// redirectsDoc is the JSON of GET and PUT /api/v1/settings/redirects.
type redirectsDoc struct {
	CallbackURLs         []string `json:"callback_urls"`
	InitiateLoginURL     string   `json:"initiate_login_url"`
	PostLogoutURLs       []string `json:"post_logout_urls"`
	BackchannelLogoutURL string   `json:"backchannel_logout_url"`
}

// redirectKind is one of the four kinds, as --kind names it.
type redirectKind struct {
	name, field string
	list        func(*redirectsDoc) *[]string // for the kinds that are lists
	one         func(*redirectsDoc) *string   // for the kinds with one URL
}

var redirectKinds = []redirectKind{
	{name: "callback", field: "callback_urls", list: func(d *redirectsDoc) *[]string { return &d.CallbackURLs }},
	{name: "initiate-login", field: "initiate_login_url", one: func(d *redirectsDoc) *string { return &d.InitiateLoginURL }},
	{name: "post-logout", field: "post_logout_urls", list: func(d *redirectsDoc) *[]string { return &d.PostLogoutURLs }},
	{name: "backchannel-logout", field: "backchannel_logout_url", one: func(d *redirectsDoc) *string { return &d.BackchannelLogoutURL }},
}

func findKind(name string) (redirectKind, error) {
	for _, k := range redirectKinds {
		if k.name == name {
			return k, nil
		}
	}
	return redirectKind{}, fmt.Errorf("--kind %q: must be callback, initiate-login, post-logout or backchannel-logout", name)
}

func newRedirectsCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "redirects",
		Short: "List, add and remove the redirect URLs of a running server",
		Long: `Manage the environment's redirect URLs (Settings -> Redirects) on a running
server: callback URLs, the initiate-login URL, post-logout URLs and the
back-channel logout URL. The server checks every URL against the rules of the
environment's type (docs/settings.md) and refuses a URL naming the rule broken.`,
		Args: cobra.NoArgs,
	}
	api := bindAPIFlags(cmd)

	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "Show the registered redirect URLs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := api.connect(cmd.Context())
			if err != nil {
				return err
			}
			var d redirectsDoc
			if err := c.do(cmd.Context(), "GET", redirectsPath, nil, &d); err != nil {
				return err
			}
			if asJSON {
				return writeJSON(stdout, d)
			}
			printRedirects(stdout, &d)
			return nil
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print the JSON the API answers")

	change := func(use, short string, add bool) *cobra.Command {
		var kindName string
		sub := &cobra.Command{
			Use:   use + " URL",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				kind, err := findKind(kindName)
				if err != nil {
					return err
				}
				c, err := api.connect(cmd.Context())
				if err != nil {
					return err
				}
				var d redirectsDoc
				if err := c.do(cmd.Context(), "GET", redirectsPath, nil, &d); err != nil {
					return err
				}
				msg, changed, err := editRedirects(&d, kind, strings.TrimSpace(args[0]), add)
				if err != nil || !changed {
					if err == nil {
						fmt.Fprintln(stdout, msg)
					}
					return err
				}
				if err := c.do(cmd.Context(), "PUT", redirectsPath, d, &d); err != nil {
					return explainRedirectError(err, &d, kind, args[0])
				}
				fmt.Fprintln(stdout, msg)
				return nil
			},
		}
		sub.Flags().StringVar(&kindName, "kind", "callback", "callback, initiate-login, post-logout or backchannel-logout")
		return sub
	}
	cmd.AddCommand(list,
		change("add", "Register a redirect URL (for initiate-login and backchannel-logout: set it)", true),
		change("remove", "Remove a registered redirect URL", false))
	return cmd
}

// editRedirects adds or removes u as kind in d. It returns what to tell
// the user and whether d changed.
func editRedirects(d *redirectsDoc, kind redirectKind, u string, add bool) (string, bool, error) {
	if kind.list != nil {
		l := kind.list(d)
		i := slices.Index(*l, u)
		switch {
		case add && i >= 0:
			return fmt.Sprintf("%s is already a %s URL; nothing to do", u, kind.name), false, nil
		case add:
			*l = append(*l, u)
			return fmt.Sprintf("Added %s URL %s", kind.name, u), true, nil
		case i < 0:
			return "", false, fmt.Errorf("%s is not a registered %s URL", u, kind.name)
		default:
			*l = slices.Delete(*l, i, i+1)
			return fmt.Sprintf("Removed %s URL %s", kind.name, u), true, nil
		}
	}
	p := kind.one(d)
	switch {
	case add && *p == u:
		return fmt.Sprintf("%s is already the %s URL; nothing to do", u, kind.name), false, nil
	case add && *p != "":
		old := *p
		*p = u
		return fmt.Sprintf("Set the %s URL to %s (it was %s)", kind.name, u, old), true, nil
	case add:
		*p = u
		return fmt.Sprintf("Set the %s URL to %s", kind.name, u), true, nil
	case *p != u:
		return "", false, fmt.Errorf("%s is not the %s URL (that is %q)", u, kind.name, *p)
	default:
		*p = ""
		return fmt.Sprintf("Removed the %s URL %s", kind.name, u), true, nil
	}
}

// explainRedirectError names the URL behind a violation's index
// (callback_urls[2] -> the URL sent there), so the line says which URL
// broke which rule.
func explainRedirectError(err error, sent *redirectsDoc, kind redirectKind, u string) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		return err
	}
	for i, v := range ae.Violations {
		for _, k := range redirectKinds {
			if k.list == nil || !strings.HasPrefix(v.Field, k.field+"[") {
				continue
			}
			n, perr := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(v.Field, k.field+"["), "]"))
			if l := *k.list(sent); perr == nil && n >= 0 && n < len(l) {
				ae.Violations[i].Field = fmt.Sprintf("%s (%s)", v.Field, l[n])
			}
		}
	}
	return ae
}

func printRedirects(w io.Writer, d *redirectsDoc) {
	n := 0
	for _, k := range redirectKinds {
		urls := []string{}
		if k.list != nil {
			urls = *k.list(d)
		} else if u := *k.one(d); u != "" {
			urls = []string{u}
		}
		for _, u := range urls {
			fmt.Fprintf(w, "%-19s %s\n", k.name, u)
			n++
		}
	}
	if n == 0 {
		fmt.Fprintln(w, "No redirect URLs are registered.")
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
