"""Runners: what drives a node (a thread now; a process with 2/7)."""
