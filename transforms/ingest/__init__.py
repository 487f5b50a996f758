"""Feed ingestion: fetch (HTTP with limits), parse (feedparser on bytes, only what is new),
schedule (when to poll next), dedupe (seen keys), and beam.py (the Beam wrappers).
Everything else in here is a small pure helper those share. No Beam outside beam.py.
"""
