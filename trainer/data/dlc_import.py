"""``import_dlc``: labelled data (DeepLabCut, CSV-only, SLEAP, COCO) to COCO-keypoint JSON and a layout file.

The name stays from when it read DeepLabCut projects only: the path is now detected by
:func:`flowpose.trainer.data.importers.load_labels`.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from flowpose.meta import load_layout
from flowpose.trainer.data.dlc_coco import DlcImportOptions, dlc_layout, frames_to_coco, split_frames, write_json
from flowpose.trainer.data.importers import ImportedLabels, guess_flip_pairs, load_labels

__all__ = ["DlcImportResult", "import_dlc"]

logger = logging.getLogger(__name__)


@dataclass
class DlcImportResult:
    """What :func:`import_dlc` wrote.

    Attributes:
        outputs: Split name (``"all"``, or ``"train"`` and ``"val"``) -> JSON path.
        layout: The keypoint layout file.
        images: Images per split.
        annotations: Annotated animals per split.
        labelled: Labelled keypoints over all images.
        unlabelled: Unlabelled keypoints (empty cells) over all annotated animals.
        source: What was read (format, keypoints, skeleton, videos, notes).
        flip_pairs: The layout's flip pairs.
        flip_origin: Where they came from: ``given``, ``file`` (SLEAP symmetries), ``guessed``
            (left/right names) or ``none``.
    """

    outputs: dict[str, Path] = field(default_factory=dict)
    layout: Path | None = None
    images: dict[str, int] = field(default_factory=dict)
    annotations: dict[str, int] = field(default_factory=dict)
    labelled: int = 0
    unlabelled: int = 0
    source: ImportedLabels | None = None
    flip_pairs: tuple[tuple[str, str], ...] = ()
    flip_origin: str = "none"


def import_dlc(
    project_dir: str | Path,
    output: str | Path,
    options: DlcImportOptions | None = None,
    layout_path: str | Path | None = None,
    val_fraction: float | None = None,
    split_seed: int = 0,
    guess_flips: bool = False,
) -> DlcImportResult:
    """Convert labelled data: a DeepLabCut project, a CSV-only project, a SLEAP or COCO file.

    Args:
        project_dir: The project folder or label file (see :mod:`flowpose.trainer.data.importers`).
        output: The COCO JSON to write. With ``val_fraction``, ``<stem>_train.json`` and
            ``<stem>_val.json`` are written beside it instead.
        options: Box margins, category, sigmas, flip pairs, path style.
        layout_path: Where to write the layout; None: ``<stem>_layout.yaml`` beside ``output``.
        val_fraction: Share of the images held out for validation; None: no split.
        split_seed: Seed of the split (same seed, same split).
        guess_flips: Without ``options.flip_pairs`` or pairs in the file itself, pair keypoints
            whose names differ by side (``leftear``/``rightear``).

    Raises:
        FileNotFoundError, ValueError: A bad project, naming file and field.
        MissingExtraError: A format's optional dependency is not installed.
    """
    options = options or DlcImportOptions()
    output = Path(output)
    source = load_labels(project_dir, work=output.with_name(f"{output.stem}_frames"))
    project, frames = source.project, source.frames
    origin = "given" if options.flip_pairs else "none"
    if not options.flip_pairs and source.flip_pairs:
        options, origin = dataclasses.replace(options, flip_pairs=source.flip_pairs), "file"
    elif not options.flip_pairs and guess_flips and (guessed := guess_flip_pairs(project.bodyparts)):
        options, origin = dataclasses.replace(options, flip_pairs=guessed), "guessed"
    frames.sort(key=lambda f: f.relpath)  # stable image ids whatever the folder order
    layout_path = Path(layout_path) if layout_path else output.with_name(f"{output.stem}_layout.yaml")
    layout = dlc_layout(project, options)
    layout_path.parent.mkdir(parents=True, exist_ok=True)
    layout_path.write_text(yaml.safe_dump(layout, sort_keys=False, default_flow_style=None), encoding="utf-8")
    load_layout(layout_path)  # what we write must load: fail here, not in the trainer
    splits = {"all": frames}
    if val_fraction is not None:
        train, val = split_frames(frames, val_fraction, split_seed)
        splits = {"train": train, "val": val}
    result = DlcImportResult(layout=layout_path, source=source, flip_pairs=options.flip_pairs, flip_origin=origin)
    for name, subset in splits.items():
        coco = frames_to_coco(project, subset, options)
        coco["info"]["layout_file"] = str(layout_path.resolve())
        path = output if name == "all" else output.with_name(f"{output.stem}_{name}{output.suffix or '.json'}")
        result.outputs[name] = write_json(coco, path)
        result.images[name] = len(coco["images"])
        result.annotations[name] = len(coco["annotations"])
        for ann in coco["annotations"]:
            result.labelled += ann["num_keypoints"]
            result.unlabelled += len(project.bodyparts) - ann["num_keypoints"]
    return result
