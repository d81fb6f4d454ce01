"""The trainer's train / val / test split of labelled frames: by video, by frame for one video."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from flowpose.trainer.data.dlc_coco import split_frames
from flowpose.trainer.data.split import SplitPlan, split_coco, split_frames_by_group, video_of

CONFIG = "Task: Split Test\nscorer: Ann\nmultianimalproject:\nbodyparts:\n- nose\n- tail\nskeleton: []\n"


def make_project(root: Path, videos: dict[str, int]) -> Path:
    """A DeepLabCut project with ``videos[name]`` labelled 64x48 frames per video."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.yaml").write_text(CONFIG)
    for video, count in videos.items():
        folder = root / "labeled-data" / video
        folder.mkdir(parents=True)
        rows = ["scorer,Ann,Ann,Ann,Ann", "bodyparts,nose,nose,tail,tail", "coords,x,y,x,y"]
        for i in range(count):
            cv2.imwrite(str(folder / f"img{i:03d}.png"), np.full((48, 64, 3), 10 * i % 250, np.uint8))
            rows.append(f"labeled-data/{video}/img{i:03d}.png,{10 + i % 20},{12 + i % 7},{40 + i % 9},{30}")
        (folder / "CollectedData_Ann.csv").write_text("\n".join(rows) + "\n")
    return root


def test_frame_split_without_test_is_the_importers_split() -> None:
    # Older configs (no test part) must keep their frames: same sizes, same seeded permutation.
    class F:  # the importer's split only looks at the list
        pass

    frames = [F() for _ in range(116)]
    train, val = split_frames(frames, 0.18, 0)
    res = split_frames_by_group(["m4s1"] * 116, SplitPlan(0.18, 0.0, 0))
    assert res.by == "frame"
    assert [p == "val" for p in res.parts] == [f in val for f in frames]
    assert res.counts() == {"train": len(train), "val": len(val), "test": 0} == {"train": 95, "val": 21, "test": 0}


def test_three_way_frame_split_is_disjoint_complete_and_seeded() -> None:
    res = split_frames_by_group(["v"] * 116, SplitPlan(0.15, 0.15, 0))
    assert res.by == "frame" and res.counts() == {"train": 82, "val": 17, "test": 17}
    assert split_frames_by_group(["v"] * 116, SplitPlan(0.15, 0.15, 0)).parts == res.parts
    assert split_frames_by_group(["v"] * 116, SplitPlan(0.15, 0.15, 1)).parts != res.parts
    # The val part is the two-way split's val part: adding a test part moves frames out of train only.
    two_way = split_frames_by_group(["v"] * 116, SplitPlan(0.15, 0.0, 0))
    assert [p == "val" for p in res.parts] == [p == "val" for p in two_way.parts]


def test_video_split_holds_out_whole_videos() -> None:
    groups = [f"vid{i % 6}" for i in range(60)]  # 6 videos, 10 frames each, interleaved
    res = split_frames_by_group(groups, SplitPlan(0.15, 0.15, 0))
    assert res.by == "video"
    for video in set(groups):  # every frame of a video is in one part
        assert len({p for g, p in zip(groups, res.parts, strict=True) if g == video}) == 1
    assert all(res.groups[p] for p in ("train", "val", "test"))
    assert res.counts()["val"] >= 9 and res.counts()["test"] >= 9
    assert "by video" in res.describe()


def test_auto_splits_by_frame_when_there_are_too_few_videos() -> None:
    assert split_frames_by_group(["a"] * 10 + ["b"] * 10, SplitPlan(0.2, 0.2, 0)).by == "frame"
    assert split_frames_by_group(["a"] * 10 + ["b"] * 10, SplitPlan(0.2, 0.0, 0)).by == "video"
    with pytest.raises(ValueError, match="needs 3 videos"):
        split_frames_by_group(["a"] * 10 + ["b"] * 10, SplitPlan(0.2, 0.2, 0, by="video"))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"val_fraction": 0.0}, "val_fraction"),
        ({"val_fraction": 0.6, "test_fraction": 0.5}, "test_fraction"),
        ({"by": "image"}, "split_by"),
    ],
)
def test_bad_plans_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SplitPlan(**kwargs)


def test_too_few_frames_for_three_parts() -> None:
    with pytest.raises(ValueError, match="cannot split 2"):
        split_frames_by_group(["v", "v"], SplitPlan(0.3, 0.3, 0))


def test_split_coco_groups_by_image_folder() -> None:
    images = [{"id": i, "file_name": f"labeled-data/v{i % 3}/img{i}.png"} for i in range(1, 31)]
    coco = {"info": {}, "categories": [], "images": images,
            "annotations": [{"id": i, "image_id": i} for i in range(1, 31)]}  # fmt: skip
    parts, res = split_coco(coco, SplitPlan(0.3, 0.3, 0))
    assert res.by == "video" and video_of("labeled-data/v1/img4.png") == "v1"
    ids = {p: {im["id"] for im in d["images"]} for p, d in parts.items()}
    assert set().union(*ids.values()) == set(range(1, 31)) and sum(len(v) for v in ids.values()) == 30
    for part, data in parts.items():
        assert {a["image_id"] for a in data["annotations"]} == ids[part]


def test_dlc_source_trains_on_train_and_reports_on_test(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from flowpose.trainer.engine import build_task

    project = make_project(tmp_path / "proj", {"a": 8, "b": 8, "c": 8, "d": 16})
    dlc = {"type": "dlc", "project": str(project), "val_fraction": 0.2, "test_fraction": 0.2,
           "cache_dir": str(tmp_path / "cache")}  # fmt: skip
    config = {"task": "pose", "data": {"train": {**dlc, "part": "train"}, "val": {**dlc, "part": "val"},
              "pipeline": {"input_size": [32, 32]}}, "model": {"pretrained": False}}  # fmt: skip
    task = build_task(config, tmp_path)
    sizes = {p: len(getattr(task, f"{p}_dataset")()) for p in ("train", "val", "test")}
    assert sum(sizes.values()) == 40 and all(sizes.values())
    # An explicit data.test dlc source without a part means its test part (not the val default).
    explicit = build_task({**config, "data": {**config["data"], "test": dlc}}, tmp_path)
    paths = {p: {e.path for e in getattr(explicit, f"{p}_dataset")().source.entries} for p in ("val", "test")}
    assert paths["test"] == {e.path for e in task.test_dataset().source.entries} and paths["test"] != paths["val"]
    files = sorted((tmp_path / "cache").glob("*/dlc_*.json"))
    videos = {f.stem: {video_of(im["file_name"]) for im in json.loads(f.read_text())["images"]} for f in files}
    parts = [videos[f"dlc_{p}"] for p in ("train", "val", "test")]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])  # held out by video
    # No test part: the task has no test data (and older two-way configs keep working).
    two_way = {**config, "data": {**config["data"], "val": {**dlc, "part": "val", "test_fraction": 0}}}
    assert build_task(two_way, tmp_path).test_dataset() is None
    with pytest.raises(ValueError, match="part must be train, val or test"):
        build_task({**config, "data": {**config["data"], "val": {**dlc, "part": "holdout"}}}, tmp_path).val_dataset()
