"""``flowpose eval labels MODEL.onnx --data PROJECT``: an exported pose model on labelled frames.

Building the parser imports nothing heavy; the evaluation (ONNX Runtime, OpenCV) loads when the
command runs, and never torch: it runs the TopdownPoseEstimator node's own code.
"""

from __future__ import annotations

import argparse
import logging
import sys

__all__ = ["EXIT_BAD_INPUT", "build_parser", "dispatch"]

logger = logging.getLogger(__name__)

EXIT_BAD_INPUT = 2


def _floats(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one number")
    return values


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``flowpose eval labels`` (its own usage and errors)."""
    p = argparse.ArgumentParser(
        prog="flowpose eval labels",
        description="Pixel error (mean, median, per keypoint), share within N px and body-length PCK of an "
        "exported ONNX pose model on labelled frames: a DeepLabCut project or a COCO keypoint file. By default "
        "on the test part of the trainer's split (by video; by frame for a one-video project).",
    )
    p.add_argument("model", help="ONNX pose model (a path or zoo:NAME), e.g. from flowpose export")
    p.add_argument("--data", required=True, metavar="PROJECT", help="DeepLabCut project folder or COCO keypoint JSON")
    p.add_argument("--images", metavar="DIR", help="image folder of a COCO file (default: info.image_root, its folder)")
    p.add_argument(
        "--split",
        default="test",
        choices=("test", "val", "train", "all"),
        help="which part of the trainer's split (default test: frames never trained or selected on)",
    )
    p.add_argument("--val-fraction", type=float, default=0.15, help="the training run's val_fraction (0.15)")
    p.add_argument("--test-fraction", type=float, default=0.15, help="the training run's test_fraction (0.15)")
    p.add_argument("--split-seed", type=int, default=0, help="the training run's split_seed (0)")
    p.add_argument("--split-by", default="auto", choices=("auto", "video", "frame"), help="the run's split_by (auto)")
    p.add_argument(
        "--box",
        default="labels",
        choices=("labels", "frame"),
        help="crop: the labelled keypoints' box + 20 px + 10%% (default; the trainer's crops, the node's dynamic "
        "crop) or the whole frame (a single-animal model live without a detector)",
    )
    p.add_argument("--padding", type=float, help="box padding (default 1.25 for --box labels, 1.0 for frame)")
    p.add_argument("--within", type=_floats, default=(5.0, 10.0), metavar="PX,PX", help="share within (5,10) px")
    p.add_argument("--pck", type=_floats, default=(0.05, 0.1, 0.2), metavar="T,T", help="PCK thresholds (body lengths)")
    p.add_argument(
        "--body-length",
        metavar="A,B|PX|auto",
        help="PCK normaliser: the distance of two keypoints per frame (snout,tailbase), fixed pixels, or auto "
        "(default: the keypoint pair farthest apart on median)",
    )
    p.add_argument("--flip", action="store_true", help="flip test (mirrored crops averaged in)")
    p.add_argument("--preset", metavar="P", help="card preset for a card-less model file (rtmpose_simcc)")
    p.add_argument("--threads", type=int, metavar="N", help="ONNX Runtime threads")
    p.add_argument("--json", metavar="OUT", help="also write every figure (and the per-frame errors) as JSON")
    return p


def dispatch(args: argparse.Namespace) -> int:
    """Run the evaluation; 0 ok, 2 bad input or model (one line, no traceback)."""
    from flowpose.cli.reports import emit_report
    from flowpose.evaluation.labels_data import LabelsInputError
    from flowpose.evaluation.labels_eval import LabelsEvalConfig, evaluate_labels
    from flowpose.evaluation.labels_report import report_lines, report_to_dict
    from flowpose.trainer.data.split import SplitPlan
    from flowpose.zoo import ZooError

    try:
        plan = SplitPlan(args.val_fraction, args.test_fraction, args.split_seed, args.split_by)
        config = LabelsEvalConfig(
            model=args.model,
            data=args.data,
            images=args.images,
            split=args.split,
            plan=plan,
            box=args.box,
            padding=args.padding,
            within_px=args.within,
            thresholds=args.pck,
            body_length=args.body_length,
            flip=args.flip,
            preset=args.preset,
            threads=args.threads,
        )
        report = evaluate_labels(config)
    except (LabelsInputError, ZooError, FileNotFoundError, ValueError, OSError) as exc:
        # Bad data or a model that is missing or has no usable card: the message says which.
        print(f"error: flowpose eval labels: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    emit_report(report_lines(report), report_to_dict(report), args.json)
    return 0
