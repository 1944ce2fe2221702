import threading
import time

import numpy as np
import pytest

from gesturekit.errors import DataFormatError
from gesturekit.gestures import SampleRecorder, read_point_history, read_samples


def test_record_and_read_back(tmp_path, make_hand):
    path = tmp_path / "s.csv"
    with SampleRecorder(path) as rec:
        rec.add("fist", make_hand("fist"), "left")
        rec.add("point", make_hand("point"))
    with SampleRecorder(path) as rec:      # reopening appends, no second header
        rec.add("fist", make_hand("fist", angle=30), "right")
    s = read_samples(path)
    assert s.labels.tolist() == ["fist", "point", "fist"]
    assert s.handedness == ["left", None, "right"]
    np.testing.assert_allclose(s.keypoints[1], make_hand("point"), atol=0.01)
    assert path.read_text().count("label,handedness") == 1


def test_recorder_rejects_bad_rows(tmp_path, make_hand):
    with SampleRecorder(tmp_path / "s.csv") as rec:
        with pytest.raises(ValueError, match="label"):
            rec.add("a,b", make_hand("fist"))
        with pytest.raises(ValueError, match="shape"):
            rec.add("fist", np.zeros((20, 2)))
        with pytest.raises(ValueError, match="NaN"):
            rec.add("fist", np.full((21, 2), np.nan))
        with pytest.raises(ValueError, match="handedness"):
            rec.add("fist", make_hand("fist"), "up")
        with pytest.raises(ValueError, match="degenerate"):   # would make the file untrainable
            rec.add("fist", np.zeros((21, 2)))


def test_degenerate_row_names_file_and_line(tmp_path, make_hand):
    path = tmp_path / "s.csv"
    with SampleRecorder(path) as rec:
        rec.add("fist", make_hand("fist"))
    with open(path, "a") as f:
        f.write("fist,," + ",".join(["5"] * 42) + "\n")
    with pytest.raises(DataFormatError, match=r"s\.csv:3: keypoints: degenerate"):
        read_samples(path)


def test_malformed_line_names_file_and_line(tmp_path, make_hand):
    path = tmp_path / "s.csv"
    with SampleRecorder(path) as rec:
        for _ in range(3):
            rec.add("fist", make_hand("fist"))
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace(",", ",x", 1)[:-6]   # corrupt row 2 (line 3)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"s\.csv:3:"):
        read_samples(path)
    lines[2] = "fist,,1,2,oops" + ",1" * 39
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"s\.csv:3: keypoints"):
        read_samples(path)


def _fist_and_point(path, make_hand):
    with SampleRecorder(path) as rec:
        rec.add("fist", make_hand("fist"))
        rec.add("point", make_hand("point"))
    return path


def test_interrupted_recording_keeps_earlier_rows(tmp_path, make_hand):
    path = _fist_and_point(tmp_path / "s.csv", make_hand)
    full = path.read_bytes()
    # a crash in the middle of the third write leaves a partial, unterminated line
    path.write_bytes(full + b"victory,right,312.1,240.0,300.5,1")
    s = read_samples(path)
    assert s.labels.tolist() == ["fist", "point"]
    # resuming the recording cuts the partial tail and appends cleanly
    with SampleRecorder(path) as rec:
        rec.add("victory", make_hand("victory"), "right")
    assert path.read_bytes().startswith(full)
    assert read_samples(path).labels.tolist() == ["fist", "point", "victory"]


def test_a_recording_cut_inside_its_last_number_loses_that_row_not_its_value(tmp_path, make_hand):
    path = _fist_and_point(tmp_path / "s.csv", make_hand)
    full = path.read_bytes()
    path.write_bytes(full[:-4])   # "…,187.75\n" cut to "…,18": 44 cells still, one of them wrong
    assert read_samples(path).labels.tolist() == ["fist"]
    with SampleRecorder(path) as rec:
        rec.add("victory", make_hand("victory"))
    assert read_samples(path).labels.tolist() == ["fist", "victory"]


def test_recorder_keeps_a_whole_row_without_its_newline(tmp_path, make_hand):
    path = _fist_and_point(tmp_path / "s.csv", make_hand)
    path.write_bytes(path.read_bytes().rstrip(b"\n"))    # e.g. saved by an editor
    assert read_samples(path).labels.tolist() == ["fist", "point"]
    with SampleRecorder(path) as rec:
        rec.add("victory", make_hand("victory"))
    assert read_samples(path).labels.tolist() == ["fist", "point", "victory"]


def test_recorder_leaves_a_foreign_file_untouched(tmp_path):
    kinivi = tmp_path / "keypoint.csv"
    kinivi.write_text("0," + ",".join(["0.1"] * 42) + "\n1," + ",".join(["0.2"] * 42))
    text = tmp_path / "notes.txt"
    text.write_text("one line, no newline")
    binary = tmp_path / "model.npz"
    binary.write_bytes(bytes(range(256)) * 4)
    for path in (kinivi, text, binary):
        before = path.read_bytes()
        with pytest.raises(DataFormatError, match="not a gesturekit sample file"):
            SampleRecorder(path)
        assert path.read_bytes() == before


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        read_samples(tmp_path / "nope.csv")
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(DataFormatError, match="empty"):
        read_samples(tmp_path / "e.csv")
    (tmp_path / "other.csv").write_text("a,b,c\n1,2,3\n")
    with pytest.raises(DataFormatError, match=r"other\.csv:1"):
        SampleRecorder(tmp_path / "other.csv")


def test_kinivi_layout_with_labels(tmp_path):
    rows = [f"{c}," + ",".join(["0.0"] * 2 + [f"{v:.2f}" for v in np.linspace(-1, 1, 40)])
            for c in (0, 1, 1)]
    data = tmp_path / "keypoint.csv"
    data.write_text("\n".join(rows) + "\n")
    (tmp_path / "keypoint_classifier_label.csv").write_text("\ufeffOpen\nThumb Left\n")
    s = read_samples(data)
    assert s.labels.tolist() == ["open_palm", "thumb_left", "thumb_left"]
    assert s.keypoints.shape == (3, 21, 2)
    (tmp_path / "two.csv").write_text("Open\n")
    with pytest.raises(DataFormatError, match=r"keypoint\.csv:2: class 1 but"):
        read_samples(data, tmp_path / "two.csv")


def test_real_files(shared_data):
    s = read_samples(shared_data / "gestures-kinivi" / "keypoint.csv")
    assert len(s) == 4787 and set(s.classes) == {"open_palm", "fist", "point", "ok"}
    h = read_samples(shared_data / "hagrid12" / "keypoints_mediapipe.csv")
    assert len(h) == 8809 and {"thumbs_up", "victory", "mute", "none"} <= set(h.classes)
    assert set(h.handedness) == {"left", "right"}
    ph, y = read_point_history(shared_data / "gestures-kinivi" / "point_history.csv")
    assert ph.shape == (5296, 16, 2) and set(y) == {"stop", "clockwise", "counter_clockwise", "move"}


def test_recorders_starting_together_write_one_header(tmp_path, make_hand, monkeypatch):
    # two recorders (processes, or threads here) opening a new file at once: without a lock
    # both found it empty and both wrote a header, and the second header broke read_samples
    path = tmp_path / "s.csv"
    check = SampleRecorder._check_and_repair

    def slow_check(self):
        new = check(self)
        time.sleep(0.2)   # widen the window between "the file is new" and writing the header
        return new

    monkeypatch.setattr(SampleRecorder, "_check_and_repair", slow_check)

    def record(label):
        with SampleRecorder(path) as rec:
            for _ in range(5):
                rec.add(label, make_hand("fist"))

    threads = [threading.Thread(target=record, args=(lab,)) for lab in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert path.read_text().count("label,handedness") == 1
    assert sorted(read_samples(path).labels.tolist()) == ["a"] * 5 + ["b"] * 5


def test_joined_recordings_read_as_one(tmp_path, make_hand):
    # `cat fist.csv palm.csv > all.csv` put a second header mid-file, read as a bad row
    parts = []
    for label in ("fist", "open_palm"):
        with SampleRecorder(tmp_path / f"{label}.csv") as rec:
            rec.add(label, make_hand(label))
        parts.append((tmp_path / f"{label}.csv").read_text())
    (tmp_path / "all.csv").write_text("".join(parts))
    assert read_samples(tmp_path / "all.csv").labels.tolist() == ["fist", "open_palm"]


def test_an_interrupted_write_inside_a_character_keeps_earlier_rows(tmp_path, make_hand, caplog):
    # a crash inside a multi-byte character of a label (größe, 👋) failed the whole read with a
    # UnicodeDecodeError naming neither file nor line, instead of skipping the incomplete last line
    path = tmp_path / "s.csv"
    with SampleRecorder(path) as rec:
        rec.add("größe", make_hand("fist"))
        rec.add("wave 👋", make_hand("point"), "left")
    full = path.read_bytes()
    path.write_bytes(full + "wave 👋,left,1".encode()[:6])   # cut inside the emoji
    assert read_samples(path).labels.tolist() == ["größe", "wave 👋"]
    assert "s.csv:4: skipping an incomplete last line" in caplog.text
    with SampleRecorder(path) as rec:                         # resuming cuts the broken tail
        rec.add("größe", make_hand("fist"))
    assert read_samples(path).labels.tolist() == ["größe", "wave 👋", "größe"]


def test_a_file_not_in_utf8_names_its_line(tmp_path, make_hand):
    # a CSV saved by a spreadsheet in Windows-1252: UnicodeDecodeError without file or line
    path = tmp_path / "s.csv"
    with SampleRecorder(path) as rec:
        rec.add("fist", make_hand("fist"))
    row = ",".join(f"{v:.2f}" for v in make_hand("fist").reshape(-1))
    path.write_bytes(path.read_bytes() + "grüße,,".encode("cp1252") + row.encode() + b"\n")
    with pytest.raises(DataFormatError, match=r"s\.csv:3: not UTF-8 text"):
        read_samples(path)


def test_recorder_refuses_control_characters_in_labels(tmp_path, make_hand):
    # a tab or an escape pasted into --label made a class that no one could name or print
    with SampleRecorder(tmp_path / "s.csv") as rec:
        for label in ("a\tb", "wave\x1b[31m", "nul\x00"):
            with pytest.raises(ValueError, match="control characters"):
                rec.add(label, make_hand("fist"))
        rec.add("Daumen hoch 👍", make_hand("thumbs_up"))      # any printable text is a label
    assert read_samples(tmp_path / "s.csv").labels.tolist() == ["Daumen hoch 👍"]


def test_recorder_appends_to_any_header_the_reader_accepts(tmp_path, make_hand):
    # "Label, Handedness, …" (re-saved by a spreadsheet) was read fine but refused for appending
    path = tmp_path / "s.csv"
    with SampleRecorder(path) as rec:
        rec.add("fist", make_hand("fist"))
    lines = path.read_text().splitlines()
    lines[0] = ", ".join(c.capitalize() for c in lines[0].split(","))
    path.write_text("\r\n".join(lines) + "\r\n")
    assert read_samples(path).labels.tolist() == ["fist"]
    with SampleRecorder(path) as rec:
        rec.add("point", make_hand("point"))
    assert read_samples(path).labels.tolist() == ["fist", "point"]
