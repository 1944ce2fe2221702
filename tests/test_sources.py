import threading
import time

import cv2
import numpy as np
import pytest
from fakes import write_clip

from gesturekit.sources import (
    ArraySource,
    ImageFolderSource,
    LatestFrameReader,
    SourceError,
    VideoFileSource,
    open_source,
)


def test_video_file_delivers_every_frame_including_the_last(tmp_path):
    p = tmp_path / "clip.avi"
    write_clip(p, n=12)
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
    write_clip(p, n=12)                      # 30 fps: 0.37 s from the first frame to the last
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


class _FlakyCapture:
    """A camera whose reads follow ``script``: True gives a frame, False a failed read; then fails."""

    def __init__(self, script):
        self.script = list(script)

    def isOpened(self):  # noqa: N802 - OpenCV's name
        return True

    def read(self):
        ok = self.script.pop(0) if self.script else False
        return ok, (np.zeros((4, 4, 3), np.uint8) if ok else None)

    def get(self, prop):
        return 30.0

    def set(self, prop, value):
        return True

    def release(self):
        pass


def test_a_camera_that_drops_a_few_reads_goes_on(monkeypatch):
    from gesturekit import sources

    monkeypatch.setattr(sources.cv2, "VideoCapture", lambda target: _FlakyCapture([False, False, True, False, True]))
    got = []
    with pytest.raises(SourceError, match=r"camera 0: stopped delivering frames after 2 \(none for 0.2 s"):
        for frame, _ in sources.CameraSource(0, patience_s=0.2):
            got.append(frame)
    assert len(got) == 2  # the warm-up's two failed reads and the hiccup between frames are waited out


def test_a_camera_gone_for_good_ends_after_its_patience(monkeypatch):
    from gesturekit import sources

    monkeypatch.setattr(sources.cv2, "VideoCapture", lambda target: _FlakyCapture([]))
    t0 = time.monotonic()
    with pytest.raises(SourceError, match="camera 3: delivered no frame"):
        list(sources.open_source(3, patience_s=0.3))
    assert 0.3 <= time.monotonic() - t0 < 1.5
    with pytest.raises(SourceError, match="patience_s must be 0 or more"):
        sources.StreamSource("rtsp://x", patience_s=-1)


def test_a_negative_camera_index_is_a_clear_error_not_a_crash():
    # cv2.VideoCapture(-1) ends the whole process with a segfault in OpenCV 5.0.0
    with pytest.raises(SourceError, match="camera -1"):
        open_source(-1)


def test_a_video_file_reports_its_frame_rate_once_open(tmp_path):
    p = tmp_path / "clip.avi"
    write_clip(p, n=3, size=(32, 24), fps=15.0)
    src = open_source(p)
    ts = [t for _, t in src]
    assert src.fps == pytest.approx(15.0) and ts[1] == pytest.approx(1000 / 15)


def _mp4_with_damaged_frames(path, damaged, n=30):
    """An mp4v clip of ``n`` frames (frame i filled with 5 + 8 i) whose frames in ``damaged``
    cannot be decoded: their VOP start codes are overwritten."""
    write_clip(path, n, codec="mp4v", start=5, step=8)
    data = bytearray(path.read_bytes())
    vops = [i for i in range(len(data) - 4) if data[i:i + 4] == b"\x00\x00\x01\xb6"]
    for k in damaged:
        data[vops[k]:vops[k] + 4] = b"\xff" * 4
    path.write_bytes(bytes(data))
    return path


def test_a_damaged_frame_mid_file_does_not_end_the_video(tmp_path, caplog):
    # a frame that failed to decode was taken for the end of the file: 12 of 30 frames, silently
    clip = _mp4_with_damaged_frames(tmp_path / "clip.mp4", damaged=[12])
    frames = list(open_source(clip))
    assert len(frames) == 29
    ts = np.array([t for _, t in frames])
    assert np.allclose(ts, [i * 1000 / 30 for i in range(30) if i != 12])   # frame 13 keeps its time
    assert abs(frames[12][0].mean() - (5 + 8 * 13)) < 4
    assert "clip.mp4: frame 12 could not be decoded, skipped" in caplog.text


def test_a_video_with_no_decodable_frame_is_an_error(tmp_path):
    # it opened and then ended at once: zero frames, no word why
    clip = _mp4_with_damaged_frames(tmp_path / "clip.mp4", damaged=range(30))
    with pytest.raises(SourceError, match="clip.mp4: no frame could be decoded"):
        list(open_source(clip))


def test_a_truncated_video_gives_its_frames_and_a_warning(tmp_path, caplog):
    p = tmp_path / "clip.avi"
    write_clip(p, 30, start=5, step=8)
    data = p.read_bytes()
    jpegs = [i for i in range(len(data) - 3) if data[i:i + 3] == b"\xff\xd8\xff"]
    p.write_bytes(data[:jpegs[20] + 50])             # a copy cut short inside frame 20
    assert len(list(open_source(p))) == 20
    assert "the last 10 frames (20–29) could not be decoded" in caplog.text
    caplog.clear()
    write_clip(p, n=12)                            # a whole file: no warning
    assert len(list(open_source(p))) == 12 and not caplog.text


def test_open_names_an_unreadable_source_at_once(tmp_path):
    # a video that cannot open was only found out on the first frame, after the models loaded
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    src = open_source(bad)
    with pytest.raises(SourceError, match="bad.mp4: cannot open"):
        src.open()
    good = tmp_path / "clip.avi"
    write_clip(good, n=3)
    with open_source(good).open() as src:
        assert len(list(src)) == 3


def test_photos_and_streams_say_which_they_are(tmp_path):
    img = tmp_path / "one.png"
    cv2.imwrite(str(img), np.zeros((8, 8, 3), np.uint8))
    clip = tmp_path / "clip.avi"
    write_clip(clip, n=2)
    assert open_source(tmp_path).photos and open_source(img).photos
    assert open_source(img).name == str(img)
    assert not open_source(clip).photos and not ArraySource([]).photos


def test_an_image_folder_leaves_hidden_files_out(tmp_path):
    # a folder copied from a Mac holds ._name.jpg metadata files: not images, they stopped the run
    cv2.imwrite(str(tmp_path / "a.jpg"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "._a.jpg").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    (tmp_path / ".thumbs").mkdir()
    cv2.imwrite(str(tmp_path / ".thumbs" / "a.jpg"), np.zeros((4, 4, 3), np.uint8))
    src = ImageFolderSource(tmp_path)
    assert [p.name for p in src.paths] == ["a.jpg"] and len(list(src)) == 1


def test_an_image_folder_reports_what_it_skips(tmp_path, caplog):
    for name in ("0.png", "2.png"):
        cv2.imwrite(str(tmp_path / name), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "1.png").write_bytes(b"broken")
    seen = []
    src = ImageFolderSource(tmp_path, skip_bad=seen.append)
    assert len(list(src)) == 2 and seen == [tmp_path / "1.png"] and src.skipped == seen
    assert not caplog.text                     # the function was told instead of the log
    assert len(list(ImageFolderSource(tmp_path, skip_bad=True))) == 2
    assert "1.png: cannot decode image, skipped" in caplog.text


def test_a_source_that_fails_to_start_ends_the_reader_with_its_error():
    from gesturekit.sources import FrameSource

    class EagerCamera(FrameSource):
        def __iter__(self):   # opens its device before returning an iterator
            raise SourceError("mycam: cannot open")

    reader = LatestFrameReader(EagerCamera())
    with pytest.raises(SourceError, match="mycam: cannot open"):
        reader.read(timeout=5)


@pytest.mark.parametrize("fps", [0, -30, float("nan"), float("inf"), "30"])
def test_frames_per_second_are_checked_up_front(tmp_path, fps):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="fps"):
        ImageFolderSource(tmp_path, fps=fps)
    with pytest.raises(ValueError, match="fps"):
        ArraySource([], fps=fps)


def test_a_folder_named_with_digits_is_a_folder_not_a_camera(tmp_path, monkeypatch):
    (tmp_path / "2024").mkdir()
    cv2.imwrite(str(tmp_path / "2024" / "a.png"), np.zeros((8, 8, 3), np.uint8))
    monkeypatch.chdir(tmp_path)
    assert isinstance(open_source("2024"), ImageFolderSource)


@pytest.mark.parametrize("shape", [(48, 64, 3), (48, 64), (48, 64, 4), (48, 64, 1)])
def test_one_image_is_not_taken_for_a_sequence_of_frames(shape):
    with pytest.raises(ValueError, match="one image"):
        open_source(np.zeros(shape, np.uint8))
    assert len(list(open_source(np.zeros((2, *shape), np.uint8)))) == 2   # a stack of frames is
