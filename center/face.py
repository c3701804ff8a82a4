"""Face detection and a simple liveness test on the frames of a face video (OpenCV).

A capture passes when a face is found in most frames *and* it moves between them: a
photograph held still in front of the camera gives the same face box and the same pixels
in every frame. This is the gate before a person compares the face with the account's
reference photo; it is not a biometric match.
"""

from __future__ import annotations

import functools
import itertools
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

#: Frames are scaled to this width before detection: a face at a desk camera fills a
#: good part of the frame, and detection time grows with the pixels.
DETECTION_WIDTH = 256
#: A face must be found in at least this share of the frames...
MIN_PRESENCE = 0.6
#: ...and in at least this many of them.
MIN_FACE_FRAMES = 3
#: Median movement between consecutive face frames, as a share of the face's size (box
#: displacement plus the mean pixel change inside the face), above which the face "moves".
#: Sensor noise on a still picture measured ~0.03 (sigma 3 grey levels); a 2-pixel drift
#: of a 400-pixel frame ~0.10.
MIN_MOTION = 0.06
#: At most this many frames are analysed (more are sampled evenly).
MAX_FRAMES = 12
FACE_CROP = 64
#: Detections the cascade must agree on: 8 leaves no stray faces on noisy test pictures.
MIN_NEIGHBOURS = 8


@dataclass(frozen=True)
class FaceBox:
    x: float
    y: float
    w: float
    h: float

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h / 2)


@dataclass(frozen=True)
class FaceAnalysis:
    """What the server found in a capture; ``live`` is the gate for a PASS."""

    frames: int
    face_frames: int
    presence: float
    motion: float
    best_frame: int | None

    @property
    def face_found(self) -> bool:
        return self.face_frames > 0

    @property
    def present(self) -> bool:
        return self.face_frames >= MIN_FACE_FRAMES and self.presence >= MIN_PRESENCE

    @property
    def moves(self) -> bool:
        return self.motion >= MIN_MOTION

    @property
    def live(self) -> bool:
        return self.present and self.moves

    def as_details(self) -> dict[str, float | int | bool]:
        return {
            "frames": self.frames,
            "face_frames": self.face_frames,
            "presence": round(self.presence, 3),
            "motion": round(self.motion, 4),
            "live": self.live,
        }


@functools.cache
def _cascade() -> cv2.CascadeClassifier:
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    if cascade.empty():  # pragma: no cover - a broken OpenCV install
        raise RuntimeError("OpenCV's frontal face cascade could not be loaded.")
    return cascade


def to_gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def decode_image(content: bytes) -> np.ndarray | None:
    """A grey image from JPEG/PNG/WebP bytes, or None when they are not an image."""
    if not content:
        return None
    image = cv2.imdecode(np.frombuffer(content, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    return image if image is not None and image.size else None


def decode_video(content: bytes, *, suffix: str = ".webm") -> list[np.ndarray]:
    """Up to MAX_FRAMES grey frames sampled evenly from a video's bytes."""
    with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
        handle.write(content)
        handle.flush()
        return _read_video(Path(handle.name))


def _read_video(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    try:
        frames = []
        while len(frames) < MAX_FRAMES * 30:  # at most ~10 s at 30 fps
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(to_gray(frame))
    finally:
        capture.release()
    return sample(frames)


def sample(frames: Sequence[np.ndarray], limit: int = MAX_FRAMES) -> list[np.ndarray]:
    if len(frames) <= limit:
        return list(frames)
    step = (len(frames) - 1) / (limit - 1)
    return [frames[round(index * step)] for index in range(limit)]


def detect_faces(gray: np.ndarray) -> list[FaceBox]:
    """The faces in a grey image, in the image's own pixel coordinates."""
    scale = min(1.0, DETECTION_WIDTH / max(gray.shape))
    small = (
        gray
        if scale == 1.0
        else cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    )
    small = cv2.equalizeHist(small)
    min_side = max(24, round(min(small.shape) * 0.12))
    found = _cascade().detectMultiScale(
        small, scaleFactor=1.15, minNeighbors=MIN_NEIGHBOURS, minSize=(min_side, min_side)
    )
    return [FaceBox(x / scale, y / scale, w / scale, h / scale) for x, y, w, h in found]


def detect_face(gray: np.ndarray) -> FaceBox | None:
    """The largest face in a grey image."""
    return max(detect_faces(gray), key=lambda box: box.w * box.h, default=None)


def _track(boxes_per_frame: list[list[FaceBox]]) -> list[FaceBox | None]:
    """One face per frame: the largest at first, then the one nearest the last seen, so
    a stray detection elsewhere in the picture does not count as movement."""
    tracked: list[FaceBox | None] = []
    last: FaceBox | None = None
    for boxes in boxes_per_frame:
        if not boxes:
            tracked.append(None)
            continue
        if last is None:
            chosen = max(boxes, key=lambda box: box.w * box.h)
        else:
            lx, ly = last.centre
            chosen = min(boxes, key=lambda box: np.hypot(box.centre[0] - lx, box.centre[1] - ly))
        tracked.append(chosen)
        last = chosen
    return tracked


def _face_crop(gray: np.ndarray, box: FaceBox) -> np.ndarray:
    x0, y0 = max(0, int(box.x)), max(0, int(box.y))
    crop = gray[y0 : int(box.y + box.h), x0 : int(box.x + box.w)]
    crop = cv2.resize(crop, (FACE_CROP, FACE_CROP), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(crop, (5, 5), 0).astype(np.float32)


def _movement(a_frame: np.ndarray, a: FaceBox, b_frame: np.ndarray, b: FaceBox) -> float:
    """How much the face changed between two frames, relative to its size."""
    size = (a.w + b.w) / 2
    (ax, ay), (bx, by) = a.centre, b.centre
    displacement = float(np.hypot(bx - ax, by - ay)) / size + abs(b.w - a.w) / size
    pixels = float(np.mean(np.abs(_face_crop(a_frame, a) - _face_crop(b_frame, a)))) / 255
    return displacement + pixels


def analyse_frames(frames: Iterable[np.ndarray]) -> FaceAnalysis:
    grey = sample([to_gray(frame) for frame in frames])
    boxes = _track([detect_faces(frame) for frame in grey])
    found = [(index, box) for index, box in enumerate(boxes) if box is not None]
    moves = [_movement(grey[i], a, grey[j], b) for (i, a), (j, b) in itertools.pairwise(found)]
    best = max(found, key=lambda item: item[1].w * item[1].h)[0] if found else None
    return FaceAnalysis(
        frames=len(grey),
        face_frames=len(found),
        presence=len(found) / len(grey) if grey else 0.0,
        motion=float(np.median(moves)) if moves else 0.0,
        best_frame=best,
    )
