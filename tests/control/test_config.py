from pathlib import Path

import pytest

from gesturekit.control import (
    ConfigError,
    ControlConfig,
    config_from_dict,
    load_config,
    parse_combo,
)
from gesturekit.control.config import parse_key

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "controls.toml"


def write(tmp_path, text, name="controls.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_example_config_loads():
    c = load_config(EXAMPLE)
    assert c.mouse.click == "pinch"
    assert c.keys["thumbs_up"] == ("ctrl", "alt", "t")
    assert c.safety.stop_hotkey == "<ctrl>+<alt>+g"
    assert c.pointer_hand == "right"


def test_full_config(tmp_path):
    c = load_config(write(tmp_path, """
dry_run = true
left_handed = true
mirrored = false
screen = [0, 0, 800, 600]
[mouse]
point = "palm"
region = [0.1, 0.1, 0.9, 0.9]
sensitivity = 2
acceleration = 0.0
[mouse.smoothing]
min_cutoff = 0.5
beta = 0.1
[keys]
swipe_up = "Control+Shift+Tab"
call = "f5"
"""))
    assert c.dry_run and c.left_handed and not c.mirrored and c.pointer_hand == "left"
    assert c.screen == (0, 0, 800, 600)
    assert c.mouse.point == "palm" and c.mouse.sensitivity == 2.0
    assert c.mouse.smoothing.min_cutoff == 0.5 and c.mouse.smoothing.beta == 0.1
    assert c.keys == {"swipe_up": ("ctrl", "shift", "tab"), "call": ("f5",)}


@pytest.mark.parametrize("text, message", [
    ('[mouse]\nsensitivity = "fast"',
     'controls.toml: [mouse].sensitivity: expected a number, got "fast"'),
    ('[mouse]\npoint = "thumb"', "controls.toml: [mouse].point: expected one of"),
    ('[mouse]\nregion = [0.8, 0.1, 0.2, 0.9]', "controls.toml: [mouse].region: x1 < x2"),
    ('[mouse]\nregion = [0.1, 0.1, 1.5, 0.9]', "controls.toml: [mouse].region[2]: 1.5 is outside"),
    ('[mouse]\nsensitivty = 2', "controls.toml: [mouse]: unknown key 'sensitivty'"),
    ('[mouse.smoothing]\nbeta = "x"', 'controls.toml: [mouse.smoothing].beta: expected a number'),
    ('[safety]\nstop_hotkey = "<ctrl>+<hyper>+g"', "controls.toml: [safety].stop_hotkey: unknown key '<hyper>'"),
    ('[safety]\nstop_hotkey = "<ctrl>+<ctrl>+g"', "controls.toml: [safety].stop_hotkey: hotkey '<ctrl>+<ctrl>+g' names a key twice"),
    ('[safety]\nstart_engaged = 1', "controls.toml: [safety].start_engaged: expected true or false"),
    ('[keys]\nlike = "ctrl+banana"', "controls.toml: [keys].like: unknown key 'banana'"),
    ('[keys]\nlike = 3', "controls.toml: [keys].like: expected a key combination"),
    ('[keys]\npinch = "a"', "controls.toml: [keys].pinch: gesture 'pinch' is already the click gesture"),
    ('dry_run = "yes"', "controls.toml: dry_run: expected true or false"),
    ('mouse = 3', "controls.toml: [mouse]: expected a table"),
    ('colour = "red"', "controls.toml: unknown key 'colour'"),
    ('[mouse\n', "controls.toml: not valid TOML"),
    # TOML's nan / inf pass a range test: a NaN pointer or an OverflowError later
    ('[mouse]\nsensitivity = nan', "controls.toml: [mouse].sensitivity: expected a finite number"),
    ('screen = [0, 0, inf, 1080]', "controls.toml: screen[2]: expected a finite number"),
    # the engage check runs first, so this click could never fire
    ('[safety]\nengage = "pinch"', "controls.toml: [safety].engage: gesture 'pinch' is already the click"),
])
def test_malformed_config_names_the_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    # The message starts with the file and names the table and key.
    assert str(e.value).startswith(str(tmp_path / message)), str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="nope.toml: cannot read control config"):
        load_config(tmp_path / "nope.toml")


def test_combos():
    assert parse_combo("ctrl+alt+t") == ("ctrl", "alt", "t")
    assert parse_combo("left") == ("left",)
    assert parse_combo("ctrl++") == ("ctrl", "+")
    assert parse_combo("Escape") == ("esc",)
    assert parse_key("A") == "a"
    for bad in ("", "ctrl+", "ctrl+nokey", "+ctrl"):
        with pytest.raises(ValueError):
            parse_combo(bad)


def test_dataclass_validation_names_field():
    with pytest.raises(ValueError, match="left_handed"):
        ControlConfig(left_handed="no")


@pytest.mark.parametrize("text, where, bad, suggestion", [
    ('[mouse]\nclick = "pinh"', "[mouse].click", "pinh", "'pinch'"),
    ('[mouse]\nscroll = "victroy"', "[mouse].scroll", "victroy", "'victory'"),
    ('[safety]\nengage = "fits"', "[safety].engage", "fits", "'fist'"),
    ('[keys]\nswipe_lef = "left"', "[keys].swipe_lef", "swipe_lef", "'swipe_left'"),
    ('[keys]\nthumbsup = "a"', "[keys].thumbsup", "thumbsup", "'thumbs_up'"),
    ('[keys]\nlike = "a"', "[keys].like", "like", "'thumbs_up'"),   # HaGRID's name for it
])
def test_unknown_gesture_is_an_error_with_suggestions(tmp_path, text, where, bad, suggestion):
    # a typo used to load silently and the binding never fired
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as e:
        load_config(path)
    msg = str(e.value)
    assert isinstance(e.value, ConfigError)
    assert msg.startswith(f"{path}: {where}: unknown gesture {bad!r} (did you mean "), msg
    assert suggestion in msg.split("known:")[0] and "extra_gestures" in msg


def test_none_is_not_a_gesture(tmp_path):
    with pytest.raises(ConfigError, match=r"\[keys\]\.none: 'none' is the no-gesture class"):
        load_config(write(tmp_path, '[keys]\nnone = "a"'))


def test_every_shipped_label_is_accepted(tmp_path):
    import json

    from gesturekit.control.config import shipped_gestures
    from gesturekit.gestures import DYNAMIC_GESTURES, STATIC_GESTURES

    models = Path(__file__).resolve().parents[2] / "models"
    mlp_labels = json.loads((models / "gesture_mlp.json").read_text())["labels"]
    names = set(STATIC_GESTURES + DYNAMIC_GESTURES) | set(mlp_labels)
    names.discard("none")
    assert names <= set(shipped_gestures()) and "none" not in shipped_gestures()
    taken = {"pinch", "rock", "victory", "fist"}   # the default mouse and engage gestures
    body = "\n".join(f'{g} = "a"' for g in sorted(names - taken))
    assert set(load_config(write(tmp_path, f"[keys]\n{body}")).keys) == names - taken


def test_custom_model_labels_can_be_bound(tmp_path):
    # a user-trained MLP with new class names: its labels are passed in, the shipped ones stay
    path = write(tmp_path, '[mouse]\nclick = "grab"\n[keys]\nwave = "ctrl+w"\nswipe_left = "left"')
    with pytest.raises(ConfigError, match="unknown gesture 'grab'"):
        load_config(path)
    c = load_config(path, extra_gestures=["grab", "wave"])
    assert c.mouse.click == "grab" and c.keys == {"wave": ("ctrl", "w"), "swipe_left": ("left",)}
    assert config_from_dict({"keys": {"wave": "a"}}, extra_gestures="wave").keys == {"wave": ("a",)}
    with pytest.raises(ConfigError, match=r"\[keys\]\.wav: unknown gesture 'wav' \(did you mean 'wave'\?\)"):
        config_from_dict({"keys": {"wav": "a"}}, "custom.toml", extra_gestures=["wave"])


def test_custom_model_labels_from_a_trained_mlp(tmp_path):
    import numpy as np

    from gesturekit.gestures import GestureMLP

    mlp = GestureMLP([(np.zeros((4, 2), np.float32), np.zeros(2, np.float32))], ["grab", "wave"])
    c = load_config(write(tmp_path, '[keys]\nwave = "a"'), extra_gestures=mlp.labels)
    assert c.keys == {"wave": ("a",)}
