"""``flowpose eval coco``: keypoint AP, PCK and detector recall on the user's own COCO-style images.

Building the parser imports nothing heavy; the evaluation (ONNX Runtime, pycocotools) loads
when the command runs, and never torch.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys

__all__ = ["EXIT_BAD_INPUT", "EXIT_NO_PYCOCOTOOLS", "build_parser", "dispatch"]

logger = logging.getLogger(__name__)

EXIT_BAD_INPUT = 2
EXIT_NO_PYCOCOTOOLS = 3


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``flowpose eval coco`` (its own usage and errors)."""
    p = argparse.ArgumentParser(
        prog="flowpose eval coco",
        description="Keypoint AP/AR (pycocotools, OKS with the dataset's sigmas), PCK@0.1 and detector recall of "
        "the graph's detector and pose models on COCO-style keypoint files: COCO person keypoints, AP-10K, "
        "Animal-Pose. Categories named 'person' go to --people, all others to --animals.",
    )
    p.add_argument("--images", required=True, metavar="DIR", help="folder the file_name entries are relative to")
    p.add_argument("--annotations", required=True, metavar="FILE", help="COCO keypoint JSON")
    p.add_argument("--people", default="zoo:rtmpose-m-body7", metavar="M", help="people pose model (zoo:NAME or path)")
    p.add_argument("--people-preset", metavar="P", help="card preset for a card-less people model (rtmpose_simcc)")
    p.add_argument("--animals", default="zoo:rtmpose-m-ap10k", metavar="M", help="animal pose model")
    p.add_argument("--animals-preset", metavar="P", help="card preset for a card-less animal model")
    boxes = p.add_mutually_exclusive_group()
    boxes.add_argument("--detector", default="zoo:yolox-nano", metavar="M", help="detector: zoo:NAME, path or hog")
    boxes.add_argument("--gt-boxes", action="store_true", help="use the annotations' boxes (box score 1), no detector")
    p.add_argument(
        "--detector-preset", "--preset", metavar="P", help="card preset for a card-less detector file (yolox)"
    )
    p.add_argument("--score-threshold", type=float, default=0.3, help="detector score threshold (0.3, the node's)")
    p.add_argument("--flip", action="store_true", help="flip test (mirrored crops averaged in)")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N images of the file")
    p.add_argument("--threads", type=int, metavar="N", help="ONNX Runtime threads per model")
    p.add_argument("--json", metavar="OUT", help="also write every figure as JSON")
    return p


def dispatch(args: argparse.Namespace) -> int:
    """Run the evaluation; 0 ok, 2 bad input or model, 3 pycocotools missing."""
    if importlib.util.find_spec("pycocotools") is None:
        print(
            "error: 'flowpose eval coco' needs pycocotools, a dependency of flowpose: pip install 'pycocotools>=2.0.9'",
            file=sys.stderr,
        )
        return EXIT_NO_PYCOCOTOOLS
    from flowpose.cli.reports import emit_report
    from flowpose.evaluation.coco_data import CocoInputError
    from flowpose.evaluation.coco_eval import CocoEvalConfig, evaluate_coco
    from flowpose.evaluation.coco_report import report_lines, report_to_dict
    from flowpose.zoo import ZooError

    config = CocoEvalConfig(
        images=args.images,
        annotations=args.annotations,
        people=args.people,
        animals=args.animals,
        people_preset=args.people_preset,
        animals_preset=args.animals_preset,
        detector=None if args.gt_boxes else args.detector,
        detector_preset=args.detector_preset,
        score_threshold=args.score_threshold,
        flip=args.flip,
        limit=args.limit,
        threads=args.threads,
    )
    try:
        report = evaluate_coco(config)
    except CocoInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ZooError, FileNotFoundError, ValueError, OSError) as exc:
        # A model that is missing, cannot be fetched or has no usable card: the message says which.
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    emit_report(report_lines(report), report_to_dict(report), args.json)
    return 0
