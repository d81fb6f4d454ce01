"""Running a validated graph: buffers, joins, the runtime that starts runners, stats and traces."""
