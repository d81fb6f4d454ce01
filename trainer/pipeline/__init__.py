"""The top-down pose pipeline: crop geometry, augmentations and target encoding (numpy + cv2)."""
