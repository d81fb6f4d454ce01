"""Pose networks: torchvision backbones with heatmap or SimCC heads, and their losses."""
