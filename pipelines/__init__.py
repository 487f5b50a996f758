"""Pipeline assembly, options and the `wirewatch` command line."""
