"""``flowpose serve``: a running graph with an HTTP control API (streams, stats, health).

The graph runs with the normal runtime; a small JSON-over-HTTP server in the same process
lists, adds, pauses and removes the streams of the graph's multi-stream source node through
its :class:`flowpose.streams.StreamControl`, and reports per-node and per-stream figures.
Modules: :mod:`~flowpose.serve.auth` (the bearer token), :mod:`~flowpose.serve.routes` (what
each route does), :mod:`~flowpose.serve.openapi` (the routes described), :mod:`~flowpose.serve.server`
(HTTP: bodies, errors, the token check), :mod:`~flowpose.serve.client` (what ``flowpose streams`` calls).
"""

DEFAULT_PORT = 8770
"""Where ``flowpose serve`` listens unless ``--port`` says otherwise."""
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
"""Where ``flowpose streams`` looks for it unless ``--url`` / ``FLOWPOSE_URL`` say otherwise."""
