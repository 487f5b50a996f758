"""Routing: which sinks a match goes to (router), flood control and digests (flood), silences,
and the routing problems `wirewatch check` reports (checks). Beam wrapper: beam.RouteAlerts."""
