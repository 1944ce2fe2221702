import json
from pathlib import Path

import numpy as np
import pytest

from gesturekit.errors import DataFormatError, LayoutMismatchError
from gesturekit.layouts import HAND_12, HAND_21, KeypointLayout, get_layout

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "hand12_layout.json"


def test_validation_names_the_field():
    with pytest.raises(ValueError, match=r"layout\.flip: .* not a permutation of 0\.\.2"):
        KeypointLayout("x", ("a", "b", "c"), flip=(0, 0, 1))
    with pytest.raises(ValueError, match=r"layout\.flip"):
        KeypointLayout("x", ("a", "b", "c"), flip=(0, 1))
    with pytest.raises(ValueError, match=r"layout\.flip: \(1, 2, 0\) is not its own inverse"):
        KeypointLayout("x", ("a", "b", "c"), flip=(1, 2, 0))
    with pytest.raises(ValueError, match=r"layout\.edges: edge \(1, 3\) is outside 0\.\.2"):
        KeypointLayout("x", ("a", "b", "c"), edges=((0, 1), (1, 3)))
    with pytest.raises(ValueError, match=r"layout\.edges"):
        KeypointLayout("x", ("a", "b"), edges=((-1, 0),))
    with pytest.raises(ValueError, match=r"layout\.names: duplicate"):
        KeypointLayout("x", ("a", "a"))
    with pytest.raises(ValueError, match=r"layout\.from_hand21: shape \(2, 20\)"):
        KeypointLayout("x", ("a", "b"), from_hand21=np.zeros((2, 20)))


def test_flip_defaults_to_identity_and_is_kept():
    assert KeypointLayout("x", ("a", "b", "c")).flip == (0, 1, 2)
    lay = KeypointLayout("lr", ("left", "right", "mid"), flip=[1, 0, 2])
    assert lay.flip == (1, 0, 2) and lay.num_points == 3


def test_hand21():
    assert HAND_21.num_points == 21 and HAND_21.names[0] == "wrist" and HAND_21.names[8] == "index_tip"
    assert len(HAND_21.edges) == 21


def test_derive_12_from_21():
    kp = np.random.default_rng(0).uniform(0, 100, (3, 21, 2)).astype(np.float32)
    out = HAND_12.derive(kp)
    assert out.shape == (3, 12, 2) and out.dtype == np.float32
    for name, j in (("index_tip", 8), ("middle_tip", 12), ("ring_tip", 16), ("little_tip", 20),
                    ("index_root", 5), ("middle_root", 9), ("ring_root", 13), ("little_root", 17)):
        np.testing.assert_allclose(out[:, HAND_12.names.index(name)], kp[:, j])
    palm = out[:, [HAND_12.names.index(f"palm_{i}") for i in range(4)]]
    np.testing.assert_allclose(palm[:, 0], kp[:, 0], atol=1e-4)  # starts at the wrist
    steps = np.diff(palm, axis=1)  # evenly spaced on wrist → middle root, a quarter apart
    np.testing.assert_allclose(steps, np.repeat(((kp[:, 9] - kp[:, 0]) / 4)[:, None], 3, 1), atol=1e-4)
    with pytest.raises(LayoutMismatchError, match="shape .* does not match layout 'hand21'"):
        HAND_12.derive(kp[:, :20])
    with pytest.raises(LayoutMismatchError, match="cannot be derived"):
        HAND_21.derive(kp)


def test_check():
    HAND_12.check(np.zeros((4, 12, 2)))
    with pytest.raises(LayoutMismatchError, match=r"mine: shape \(4, 21, 2\) .* 'hand12' with 12 points"):
        HAND_12.check(np.zeros((4, 21, 2)), "mine")


def test_json_round_trip_and_errors(tmp_path):
    lay = KeypointLayout("lr", ("left", "right", "mid"), edges=((0, 2), (1, 2)), flip=(1, 0, 2))
    p = tmp_path / "lr.json"
    p.write_text(json.dumps(lay.to_dict()))
    assert KeypointLayout.load(p) == lay
    assert get_layout(str(p)) == lay
    p.write_text(json.dumps({"names": ["a", "b"], "flip": [0, 0]}))
    with pytest.raises(DataFormatError, match=r"lr\.json: not a valid keypoint layout .*layout\.flip"):
        KeypointLayout.load(p)
    p.write_text(json.dumps({"edges": []}))
    with pytest.raises(DataFormatError, match=r"lr\.json: not a valid keypoint layout"):
        KeypointLayout.load(p)
    p.write_text(json.dumps(["a", "b"]))   # a list of names is not a layout object
    with pytest.raises(DataFormatError, match=r"lr\.json: a keypoint layout is an object"):
        KeypointLayout.load(p)
    p.write_text("{oops")
    with pytest.raises(DataFormatError, match=r"lr\.json: cannot read layout JSON"):
        KeypointLayout.load(p)
    with pytest.raises(ValueError, match="unknown layout 'hand7'"):
        get_layout("hand7")


def test_example_hand12_json_equals_builtin():
    lay = KeypointLayout.load(EXAMPLE)
    assert lay.names == HAND_12.names and lay.edges == HAND_12.edges and lay.flip == HAND_12.flip
    np.testing.assert_array_equal(lay.from_hand21, HAND_12.from_hand21)
    assert get_layout("hand12") is HAND_12 and get_layout(HAND_21) is HAND_21


@pytest.mark.parametrize("field, value, message", [
    ("names", "abc", r"layout\.names: a list of point names"),     # not three points "a", "b", "c"
    ("names", None, r"layout\.names: a list of point names"),
    ("edges", [[0, 1, 2]], r"layout\.edges: each edge is a pair of point indices \(0-based\), got \(0, 1, 2\)"),
    ("edges", [["a", "b"]], r"layout\.edges: each edge is a pair of point indices"),
    ("edges", [1], r"layout\.edges: each edge is a pair"),
    ("flip", ["a", "b", "c"], r"layout\.flip: a list of point indices"),
    ("flip", [1, 2, 3], r"layout\.flip: .* not a permutation of 0\.\.2 \(indices count from 0\)"),
])
def test_a_malformed_layout_json_names_the_field(tmp_path, field, value, message):
    d = {"name": "x", "names": ["a", "b", "c"], "edges": [[0, 1]]}
    d[field] = value
    p = tmp_path / "x.json"
    p.write_text(json.dumps(d))
    with pytest.raises(DataFormatError, match=rf"x\.json: not a valid keypoint layout \({message}"):
        KeypointLayout.load(p)


def test_whole_floats_from_json_are_indices():
    lay = KeypointLayout.from_dict({"names": ["a", "b"], "edges": [[0.0, 1.0]], "flip": [1.0, 0.0]})
    assert lay.edges == ((0, 1),) and lay.flip == (1, 0)
