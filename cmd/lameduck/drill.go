package main

import "github.com/spf13/cobra"

// TODO(issue): placeholder until the drill subcommand lands; it fails loudly.
func newDrillCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "drill",
		Short:  "(not yet implemented)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return usageError("drill is not implemented yet")
		},
	}
}
