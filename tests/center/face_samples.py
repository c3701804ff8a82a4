"""Real photographs shipped by scikit-image, as the frames a desk would upload: the
astronaut (one face) moved or held still, and pictures without a face."""

from __future__ import annotations

import cv2
import numpy as np
from skimage import data

CROP = 400


def astronaut_bgr() -> np.ndarray:
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def no_face_bgr(name: str = "camera") -> np.ndarray:
    image = getattr(data, name)()
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR if image.ndim == 2 else cv2.COLOR_RGB2BGR)


def moving_astronaut(frames: int = 8, step: int = 6) -> list[np.ndarray]:
    """A crop of the astronaut that drifts right and bobs up and down: a moving face."""
    image = astronaut_bgr()
    return [
        image[
            20 + (i % 4) * step // 2 : 20 + (i % 4) * step // 2 + CROP,
            10 + i * step : 10 + i * step + CROP,
        ]
        for i in range(frames)
    ]


def still_astronaut(frames: int = 8) -> list[np.ndarray]:
    """The same photograph in every frame: a picture held up to the camera."""
    image = astronaut_bgr()[20 : 20 + CROP, 10 : 10 + CROP]
    return [image.copy() for _ in range(frames)]


def noisy_still_astronaut(frames: int = 8, sigma: float = 3.0) -> list[np.ndarray]:
    """A still picture seen through a camera's sensor noise."""
    rng = np.random.default_rng(7)
    image = still_astronaut(1)[0].astype(np.float64)
    return [
        np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)
        for _ in range(frames)
    ]


def jpeg(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return encoded.tobytes()


def png(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return encoded.tobytes()
