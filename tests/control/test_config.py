from pathlib import Path

import pytest

from gesturekit.control import ConfigError, ControlConfig, load_config, parse_combo
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
