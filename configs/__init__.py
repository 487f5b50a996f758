"""The shipped data, installed as `wirewatch.configs`: the sample config and its sample feeds,
the IPTC taxonomy and the gazetteer (every config's built-in lists), and the config's JSON
Schema. Read through importlib.resources (transforms/config/locate.py), so a wheel works in
any folder; in a clone this is the same folder the quick start runs from."""
