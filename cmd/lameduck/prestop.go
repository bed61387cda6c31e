package main

import "github.com/spf13/cobra"

// TODO(issue): placeholder until the prestop subcommand lands; it fails loudly.
func newPrestopCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "prestop",
		Short:  "(not yet implemented)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return usageError("prestop is not implemented yet")
		},
	}
}
