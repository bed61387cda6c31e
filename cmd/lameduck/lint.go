package main

import "github.com/spf13/cobra"

// TODO(issue): placeholder until the lint subcommand lands; it fails loudly.
func newLintCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "lint",
		Short:  "(not yet implemented)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return usageError("lint is not implemented yet")
		},
	}
}
