"""Graphs spread over hosts: the hosts section, the plan of who runs what, rendezvous, Curve keys."""
