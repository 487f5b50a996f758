"""CLI-only tooling: the input reader behind tag / try-rule / preview / examples / --archive,
rule examples, explanations and the never-matching check. Never runs inside a pipeline."""
