"""Graph files: their models, validation, wiring checks, overrides, node-type lookup and drawing.

Nothing here runs a node: :func:`flowpose.graph.validate.validate` turns a file into a
:class:`~flowpose.graph.validate.ValidGraph` that :mod:`flowpose.engine` runs.
"""
