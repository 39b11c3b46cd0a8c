"""The `wfm` command line: `main` builds the group from one module per command group."""
