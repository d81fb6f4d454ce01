"""flowpose's built-in nodes (imported as ``flowpose.nodes``).

They are registered in the ``flowpose.nodes`` entry-point group of flowpose's own package
metadata, the same way third-party plugins register theirs.
"""
