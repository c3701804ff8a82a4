"""Face detection and liveness on real photographs that scikit-image ships."""

from __future__ import annotations

import cv2
import pytest

from center import face
from tests.center.face_samples import (
    astronaut_bgr,
    jpeg,
    moving_astronaut,
    no_face_bgr,
    noisy_still_astronaut,
    still_astronaut,
)


def test_finds_the_astronauts_face():
    box = face.detect_face(face.to_gray(astronaut_bgr()))
    assert box is not None
    # The face is in the upper middle of the 512x512 picture.
    assert 150 < box.centre[0] < 280
    assert 60 < box.centre[1] < 190
    assert 60 < box.w < 140


@pytest.mark.parametrize("name", ["camera", "coffee", "chelsea", "cat"])
def test_finds_no_face_where_there_is_none(name):
    assert face.detect_faces(face.to_gray(no_face_bgr(name))) == []


def test_a_moving_face_is_live():
    analysis = face.analyse_frames(moving_astronaut())
    assert analysis.face_frames == analysis.frames == 8
    assert analysis.motion > 2 * face.MIN_MOTION
    assert analysis.live


def test_a_photo_held_still_is_not_live():
    analysis = face.analyse_frames(still_astronaut())
    assert analysis.present
    assert analysis.motion == 0
    assert not analysis.live


def test_sensor_noise_on_a_still_photo_is_not_movement():
    analysis = face.analyse_frames(noisy_still_astronaut())
    assert analysis.present
    assert analysis.motion < face.MIN_MOTION
    assert not analysis.live


def test_frames_without_a_face_are_not_live():
    analysis = face.analyse_frames([no_face_bgr("coffee")] * 4 + [no_face_bgr("camera")] * 4)
    assert analysis.face_frames == 0
    assert analysis.best_frame is None
    assert not analysis.live


def test_a_face_in_too_few_frames_is_not_live():
    frames = moving_astronaut(3) + [no_face_bgr("coffee")] * 5
    analysis = face.analyse_frames(frames)
    assert analysis.face_frames == 3
    assert analysis.presence < face.MIN_PRESENCE
    assert not analysis.live


def test_decodes_jpeg_and_refuses_what_is_not_an_image():
    assert face.decode_image(jpeg(astronaut_bgr())).shape == (512, 512)
    assert face.decode_image(b"%PDF-1.4 not an image") is None
    assert face.decode_image(b"") is None


def test_reads_a_video_and_samples_its_frames(tmp_path):
    path = tmp_path / "face.avi"
    frames = moving_astronaut(30, step=2)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (400, 400))
    for frame in frames:
        writer.write(frame)
    writer.release()
    decoded = face.decode_video(path.read_bytes(), suffix=".avi")
    assert len(decoded) == face.MAX_FRAMES
    assert face.analyse_frames(decoded).live
