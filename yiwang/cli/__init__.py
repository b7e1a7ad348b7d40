"""The command line: an edge that builds the settings and calls the night, store and API."""
