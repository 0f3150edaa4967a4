package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

const brandingPath = "/api/v1/settings/branding"

// brandingDoc is the JSON of GET and PUT /api/v1/settings/branding.
type brandingDoc struct {
	LogoURL         string `json:"logo_url"`
	FaviconURL      string `json:"favicon_url"`
	PrimaryColor    string `json:"primary_color"`
	BackgroundColor string `json:"background_color"`
	CompanyName     string `json:"company_name"`
	TermsURL        string `json:"terms_url"`
	PrivacyURL      string `json:"privacy_url"`
	LoginHeading    string `json:"login_heading"`
}

// brandingField is one field: its flag, its JSON name, and where it is.
type brandingField struct {
	flag, field, usage string
	get                func(*brandingDoc) *string
}

// brandingFields lists the fields in the order get prints them.
var brandingFields = []brandingField{
	{"logo-url", "logo_url", "https URL of the logo (http allowed in development)", func(d *brandingDoc) *string { return &d.LogoURL }},
	{"favicon-url", "favicon_url", "https URL of the favicon", func(d *brandingDoc) *string { return &d.FaviconURL }},
	{"primary-color", "primary_color", "hex colour, #rgb or #rrggbb", func(d *brandingDoc) *string { return &d.PrimaryColor }},
	{"background-color", "background_color", "hex colour, #rgb or #rrggbb", func(d *brandingDoc) *string { return &d.BackgroundColor }},
	{"company-name", "company_name", "company name, at most 100 characters", func(d *brandingDoc) *string { return &d.CompanyName }},
	{"terms-url", "terms_url", "https URL of the terms of service", func(d *brandingDoc) *string { return &d.TermsURL }},
	{"privacy-url", "privacy_url", "https URL of the privacy policy", func(d *brandingDoc) *string { return &d.PrivacyURL }},
	{"login-heading", "login_heading", "the login page's heading, at most 120 characters", func(d *brandingDoc) *string { return &d.LoginHeading }},
}

func newBrandingCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "branding",
		Short: "Show and change the hosted login page's branding on a running server",
		Long: `Show and change the branding of the hosted login page: logo, favicon, colours,
company name, terms and privacy links, and heading. An organization's own
logo_url replaces the logo on that organization's logins.`,
		Args: cobra.NoArgs,
	}
	api := bindAPIFlags(cmd)

	var asJSON bool
	get := &cobra.Command{
		Use:   "get",
		Short: "Show the branding",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := api.connect(cmd.Context())
			if err != nil {
				return err
			}
			var d brandingDoc
			if err := c.do(cmd.Context(), "GET", brandingPath, nil, &d); err != nil {
				return err
			}
			if asJSON {
				return writeJSON(stdout, d)
			}
			printBranding(stdout, &d)
			return nil
		},
	}
	get.Flags().BoolVar(&asJSON, "json", false, "print the JSON the API answers")

	values := make([]string, len(brandingFields))
	set := &cobra.Command{
		Use:   "set",
		Short: "Change the branding fields given as flags (an empty value clears one)",
		Args:  cobra.NoArgs,
	}
	for i, f := range brandingFields {
		set.Flags().StringVar(&values[i], f.flag, "", f.usage)
	}
	set.RunE = func(cmd *cobra.Command, _ []string) error {
		var names []string
		for _, f := range brandingFields {
			names = append(names, "--"+f.flag)
		}
		if !anyChanged(cmd, brandingFields) {
			return errors.New("nothing to set: give one or more of " + strings.Join(names, ", "))
		}
		c, err := api.connect(cmd.Context())
		if err != nil {
			return err
		}
		var d brandingDoc
		if err := c.do(cmd.Context(), "GET", brandingPath, nil, &d); err != nil {
			return err
		}
		for i, f := range brandingFields {
			if cmd.Flags().Changed(f.flag) {
				*f.get(&d) = values[i]
			}
		}
		if err := c.do(cmd.Context(), "PUT", brandingPath, d, &d); err != nil {
			return err
		}
		printBranding(stdout, &d)
		return nil
	}
	cmd.AddCommand(get, set)
	return cmd
}

func anyChanged(cmd *cobra.Command, fields []brandingField) bool {
	for _, f := range fields {
		if cmd.Flags().Changed(f.flag) {
			return true
		}
	}
	return false
}

func printBranding(w io.Writer, d *brandingDoc) {
	for _, f := range brandingFields {
		v := *f.get(d)
		if v == "" {
			v = "(default)"
		}
		fmt.Fprintf(w, "%-17s %s\n", f.field, v)
	}
}
