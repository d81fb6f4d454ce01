"""Settings of synthetic scenes."""

from __future__ import annotations

from dataclasses import dataclass

from flowpose.synthetic.motion import Stage
from flowpose.synthetic.species import SPECIES


@dataclass(frozen=True)
class SceneConfig:
    """Settings of a synthetic scene (and of single samples).

    Attributes:
        width: Image width in pixels.
        height: Image height in pixels.
        seed: Seed of everything random; equal seeds give byte-identical frames.
        fps: Frames per second of scene time.
        num_people: Inclusive range of the number of people.
        num_animals: Inclusive range of the number of animals.
        species: Animal species to draw from (keys of :data:`flowpose.synthetic.species.SPECIES`).
        num_occluders: Inclusive range of the number of foreground occluders.
        motion_speed: Multiplier of walking speeds (0 freezes the figures in place).
        max_roll_deg: Largest in-plane tilt of a figure, degrees.
        lighting: Strength of lighting changes, 0 (none) to 1 (realistic spread) or more.
        person_height: Height of a person, as a fraction of the image height, far and near.
        min_visible_pixels: Figures showing fewer pixels are left out of the ground truth.
        num_frames: Length of the scene; None runs forever.
    """

    width: int = 640
    height: int = 480
    seed: int = 0
    fps: float = 30.0
    num_people: tuple[int, int] = (1, 2)
    num_animals: tuple[int, int] = (1, 2)
    species: tuple[str, ...] = ("dog", "cat", "horse")
    num_occluders: tuple[int, int] = (0, 2)
    motion_speed: float = 1.0
    max_roll_deg: float = 10.0
    lighting: float = 1.0
    person_height: tuple[float, float] = (0.3, 0.8)
    min_visible_pixels: int = 20
    num_frames: int | None = None

    def __post_init__(self) -> None:
        if self.width < 16 or self.height < 16:
            raise ValueError(f"SceneConfig: image must be at least 16x16, got {self.width}x{self.height}")
        if not self.fps > 0:
            raise ValueError(f"SceneConfig.fps must be > 0, got {self.fps}")
        for name in ("num_people", "num_animals", "num_occluders"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise ValueError(f"SceneConfig.{name} must be (min, max) with 0 <= min <= max, got {(lo, hi)}")
        if self.num_people[1] + self.num_animals[1] == 0:
            raise ValueError("SceneConfig: num_people and num_animals allow no figure at all")
        unknown = sorted(set(self.species) - set(SPECIES))
        if unknown or (self.num_animals[1] > 0 and not self.species):
            raise ValueError(f"SceneConfig.species: unknown {unknown or 'empty list'}; known: {sorted(SPECIES)}")
        far, near = self.person_height
        if not 0 < far <= near:
            raise ValueError(f"SceneConfig.person_height must be (far, near) with 0 < far <= near, got {(far, near)}")
        if self.motion_speed < 0 or self.max_roll_deg < 0 or self.lighting < 0:
            raise ValueError("SceneConfig: motion_speed, max_roll_deg and lighting must be >= 0")
        if self.num_frames is not None and self.num_frames < 0:
            raise ValueError(f"SceneConfig.num_frames must be >= 0 or None, got {self.num_frames}")

    @property
    def stage(self) -> Stage:
        """Ground plane of this image size."""
        far, near = self.person_height
        return Stage(
            self.width,
            self.height,
            (far * self.height, near * self.height),
            (0.5 * self.height, 0.97 * self.height),
        )
