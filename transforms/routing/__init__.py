"""Routing: which sinks a match goes to (router: Router, active_sinks), flood control, digests and
their group keys (flood), silences (silences), and the routing problems `wirewatch check` reports
(checks). Beam wrapper: beam.RouteAlerts."""
