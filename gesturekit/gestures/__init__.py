"""Gestures from 21 hand keypoints: rules, a numpy MLP, dynamic motions, samples.

Public API: :class:`GestureRecognizer` / :class:`GestureOptions` / :class:`GestureResult`,
:class:`DynamicGestureRecognizer` / :class:`DynamicOptions`, :class:`SampleRecorder`,
:func:`read_samples`, :class:`GestureMLP`, :func:`train_mlp`, :func:`fit_file` (a samples file → a model).
"""

from .dynamic import DYNAMIC_GESTURES, HISTORY_GESTURES, MotionRules
from .features import HandFeatures, canonicalize, hand_features, kinivi_normalize, mlp_input
from .mlp import GestureMLP, TrainOptions, fit_file, stratified_split, train_mlp
from .recognizer import (
                         DynamicGestureRecognizer,
                         DynamicOptions,
                         GestureOptions,
                         GestureRecognizer,
                         GestureResult,
)
from .rules import BUILTIN_RULES, STATIC_GESTURES, Rule, RuleClassifier
from .samples import HAGRID_NAMES, SampleRecorder, SampleSet, read_point_history, read_samples

# Every built-in name an EventBus accepts by default (static, HaGRID extras, dynamic).
ALL_GESTURES = tuple(dict.fromkeys(
    STATIC_GESTURES + ("mute", "stop_inverted") + DYNAMIC_GESTURES + HISTORY_GESTURES))

__all__ = [
    "ALL_GESTURES", "BUILTIN_RULES", "DYNAMIC_GESTURES", "HAGRID_NAMES", "HISTORY_GESTURES",
    "STATIC_GESTURES", "DynamicGestureRecognizer", "DynamicOptions", "GestureMLP", "GestureOptions",
    "GestureRecognizer", "GestureResult", "HandFeatures", "MotionRules", "Rule", "RuleClassifier",
    "SampleRecorder", "SampleSet", "TrainOptions", "canonicalize", "hand_features",
    "fit_file", "kinivi_normalize", "mlp_input", "read_point_history", "read_samples", "stratified_split",
    "train_mlp",
]
