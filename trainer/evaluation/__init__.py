"""Pose metrics: PCK (bbox-normalised), mean pixel error, and OKS AP/AR through pycocotools."""
