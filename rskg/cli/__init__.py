"""The `rskg` command line."""
