"""Helpers of feed ingestion (fetch, parse, schedule): small pure modules, no Beam imports.

The public entry points are `transforms.fetch`, `transforms.parse` and `transforms.schedule`;
everything in here is an implementation detail they share.
"""
