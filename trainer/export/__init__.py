"""ONNX export of pose models with their model card, checked against PyTorch."""
