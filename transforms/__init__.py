"""Everything that processes data: pure cores plus thin Beam wrappers (beam_*.py)."""
