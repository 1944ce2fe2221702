import threading
import time

import cv2
import numpy as np
import pytest

from gesturekit.sources import (
    ArraySource,
    ImageFolderSource,
    LatestFrameReader,
    SourceError,
    VideoFileSource,
    open_source,
)


def _write_video(path, n=12, size=(64, 48)):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, size)
    assert w.isOpened()
    for i in range(n):
        w.write(np.full((size[1], size[0], 3), 10 + 20 * i, np.uint8))
    w.release()


def test_video_file_delivers_every_frame_including_the_last(tmp_path):
    p = tmp_path / "clip.avi"
    _write_video(p, n=12)
    frames = list(open_source(p))
    assert len(frames) == 12
    assert abs(int(frames[-1][0].mean()) - (10 + 20 * 11)) <= 3   # the last frame, not the one before
    ts = [t for _, t in frames]
    assert ts[0] == 0 and np.allclose(np.diff(ts), 1000 / 30, atol=0.5)
    assert frames[0][0].dtype == np.uint8 and frames[0][0].shape == (48, 64, 3)


def test_missing_and_broken_inputs_name_the_path(tmp_path):
    with pytest.raises(SourceError, match="nope.mp4: no such file"):
        open_source(tmp_path / "nope.mp4")
    with pytest.raises(SourceError, match="video file not found"):
        VideoFileSource(tmp_path / "x.mp4")
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(SourceError, match="bad.mp4: cannot open"):
        list(open_source(bad))
    with pytest.raises(SourceError, match="no images"):
        ImageFolderSource(tmp_path)
    with pytest.raises(TypeError, match="source"):
        open_source(True)
    for empty in ("", "  "):   # not the current folder's images, as Path("") would give
        with pytest.raises(ValueError, match="source: empty"):
            open_source(empty)


def test_image_folder_is_recursive_and_sorted(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    for name, v in (("b/2.png", 2), ("a/9.png", 1), ("0.jpg", 0)):
        cv2.imwrite(str(tmp_path / name), np.full((8, 8, 3), v * 50, np.uint8))
    (tmp_path / "notes.txt").write_text("x")
    src = open_source(tmp_path)
    assert isinstance(src, ImageFolderSource) and len(src) == 3
    vals = [round(f.mean() / 50) for f, _ in src]
    assert vals == [0, 1, 2]
    (tmp_path / "z.png").write_bytes(b"broken")
    with pytest.raises(SourceError, match="z.png: cannot decode"):
        list(ImageFolderSource(tmp_path))
    assert len(list(ImageFolderSource(tmp_path, skip_bad=True))) == 3


def test_camera_that_does_not_exist_is_a_clear_error():
    with pytest.raises(SourceError, match="camera 97"):
        list(open_source(97))


def test_latest_frame_reader_keeps_only_the_newest():
    produced = []

    def gen():
        for i in range(200):
            produced.append(i)
            time.sleep(0.001)
            yield np.full((4, 4, 3), i % 256, np.uint8)

    reader = LatestFrameReader(ArraySource(gen()))
    got = []
    for frame, _ in reader:
        assert reader.pending <= 1
        lag = produced[-1] - int(frame[0, 0, 0])
        assert lag <= 2           # at most the one waiting frame (+ one being produced)
        got.append(int(frame[0, 0, 0]))
        time.sleep(0.01)          # a slow consumer
    assert got == sorted(got) and got[-1] == 199
    assert reader.dropped > 50 and reader.delivered == len(got)


@pytest.mark.parametrize("realtime", [True, False])
def test_a_video_file_plays_at_its_own_rate_in_a_reader(tmp_path, realtime):
    p = tmp_path / "clip.avi"
    _write_video(p, n=12)                      # 30 fps: 0.37 s from the first frame to the last
    reader = LatestFrameReader(p, **({} if realtime else {"realtime": False}))
    assert reader.realtime is realtime
    t0, got = time.monotonic(), []
    for _, ts in reader:
        got.append(ts)
        time.sleep(0.005)                      # a consumer faster than the clip, slower than decoding
    took = time.monotonic() - t0
    if realtime:                               # every frame, none before its time
        assert len(got) == 12 and reader.dropped == 0 and took >= 11 / 30 - 0.02
    else:
        assert took < 11 / 30


def test_a_paced_reader_stops_at_once():
    reader = LatestFrameReader(ArraySource([np.zeros((4, 4, 3), np.uint8)] * 3, fps=0.5), realtime=True)
    assert reader.read(timeout=2) is not None  # the next frame is due in 2 s
    t0 = time.monotonic()
    reader.stop(timeout=2)
    assert time.monotonic() - t0 < 0.5 and reader.read(timeout=0.1) is None


def test_latest_frame_reader_raises_source_error_in_consumer():
    def gen():
        yield np.zeros((4, 4, 3), np.uint8)
        raise SourceError("camera 0: stopped delivering frames after 1")

    reader = LatestFrameReader(ArraySource(gen()))
    assert reader.read(timeout=2) is not None
    with pytest.raises(SourceError, match="stopped delivering"):
        reader.read(timeout=2)


def test_reader_stop_does_not_hang_on_a_blocked_source():
    block = threading.Event()

    def gen():
        yield np.zeros((4, 4, 3), np.uint8)
        block.wait(30)

    reader = LatestFrameReader(ArraySource(gen()))
    reader.read(timeout=2)
    t0 = time.monotonic()
    reader.stop(timeout=0.5)
    assert time.monotonic() - t0 < 1.5
    block.set()


def test_a_negative_camera_index_is_a_clear_error_not_a_crash():
    # cv2.VideoCapture(-1) ends the whole process with a segfault in OpenCV 5.0.0
    with pytest.raises(SourceError, match="camera -1"):
        open_source(-1)


def test_a_video_file_reports_its_frame_rate_once_open(tmp_path):
    p = tmp_path / "clip.avi"
    w = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"MJPG"), 15.0, (32, 24))
    for _ in range(3):
        w.write(np.zeros((24, 32, 3), np.uint8))
    w.release()
    src = open_source(p)
    ts = [t for _, t in src]
    assert src.fps == pytest.approx(15.0) and ts[1] == pytest.approx(1000 / 15)
