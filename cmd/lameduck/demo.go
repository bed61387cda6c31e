package main

import "github.com/spf13/cobra"

// TODO(issue): placeholder until the demo subcommand lands; it fails loudly.
func newDemoCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "demo",
		Short:  "(not yet implemented)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return usageError("demo is not implemented yet")
		},
	}
}
