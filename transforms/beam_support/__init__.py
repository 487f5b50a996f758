"""What every Beam wrapper shares: the per-process cache (cache) and the metric namespace
(metrics). The only package besides */beam.py and pipelines/ that may import apache_beam."""
