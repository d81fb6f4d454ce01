"""The ``flowpose`` command line."""
