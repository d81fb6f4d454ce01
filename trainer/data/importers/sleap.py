"""SLEAP label files (``.slp``), read with ``sleap-io`` (the ``sleap`` extra).

Only user-labelled instances are imported (predictions are not labels). Every labelled frame is
written as a PNG under ``<work>/images/<video>/`` (SLEAP keeps frames in videos or inside the
``.pkg.slp``), so the COCO file points at plain images like every other import.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import cv2
import numpy as np

from flowpose.trainer.data.dlc_labels import DlcFrame, DlcProject
from flowpose.trainer.data.importers.base import ImportedLabels, MissingExtraError

__all__ = ["load"]

log = logging.getLogger(__name__)


def _sleap_io():
    try:
        import sleap_io
    except ImportError:
        raise MissingExtraError(
            "reading SLEAP .slp files needs sleap-io: pip install 'flowpose[sleap]' (or pip install sleap-io); "
            "or export the labels from SLEAP as COCO JSON and import that"
        ) from None
    return sleap_io


def _video_name(video, index: int) -> str:
    name = video.filename[0] if isinstance(video.filename, list) else video.filename
    stem = Path(str(name)).stem if name else f"video{index}"
    if isinstance(video.filename, list):  # an image sequence: name it after its folder
        stem = Path(str(video.filename[0])).parent.name or stem
    return re.sub(r"[^0-9A-Za-z_.-]+", "_", stem) or f"video{index}"


def load(path: Path, work: Path) -> ImportedLabels:
    """Read ``path`` (.slp) and write its labelled frames as images under ``work/images``.

    Raises:
        MissingExtraError: sleap-io is not installed.
        ValueError: No skeleton, several skeletons, no user-labelled frame, or a frame whose
            image cannot be read (the message names the video and frame).
    """
    sio = _sleap_io()
    try:
        labels = sio.load_slp(str(path))
    except Exception as exc:  # h5py/sleap-io raise many kinds for a file that is not .slp
        raise ValueError(f"{path}: not a SLEAP labels file ({exc})") from None
    if len(labels.skeletons) != 1:
        raise ValueError(f"{path}: has {len(labels.skeletons)} skeletons; flowpose imports one set of keypoints")
    skeleton = labels.skeletons[0]
    names = tuple(skeleton.node_names)
    links = tuple((str(a), str(b)) for a, b in skeleton.edge_names)
    flips = tuple((str(a), str(b)) for a, b in skeleton.symmetry_names)
    project = DlcProject(work.resolve(), skeleton.name or path.stem, "sleap", names, links, False)
    video_names = {id(v): _video_name(v, i) for i, v in enumerate(labels.videos)}
    frames: list[DlcFrame] = []
    skipped_predictions = 0
    for lf in labels.labeled_frames:
        users = list(lf.user_instances)
        skipped_predictions += len(lf.instances) - len(users)
        if not users:
            continue
        video = video_names.get(id(lf.video), "video")
        try:
            image = lf.image
        except Exception as exc:  # the video moved, or no backend can decode it
            raise ValueError(
                f"{path}: cannot read frame {lf.frame_idx} of video {video!r} ({exc}); "
                "put the video where the .slp says, or save a .pkg.slp with embedded images in SLEAP"
            ) from None
        image = np.asarray(image)
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[:, :, 0]
        elif image.ndim == 3:
            image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)  # sleap-io gives RGB; files are BGR to OpenCV
        rel = f"images/{video}/frame{int(lf.frame_idx):06d}.png"
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(work / rel), image)
        points = np.stack([np.asarray(inst.numpy(), dtype=np.float64)[:, :2] for inst in users])
        frames.append(DlcFrame((work / rel).resolve(), rel, points))
    if not frames:
        raise ValueError(f"{path}: no user-labelled frames (only predictions?); label some frames in SLEAP first")
    notes = [f"{len(frames)} frames written as PNG under {work / 'images'}"]
    if skipped_predictions:
        notes.append(f"{skipped_predictions} predicted instances left out (predictions are not labels)")
    return ImportedLabels("sleap", project, frames, [path], flip_pairs=flips, notes=notes, path=path)
