"""torch modules only: building blocks, backbones, heads, losses, and a name registry.

Models are created by name, timm-style: ``create_model("kpnet_simcc", num_points=21)``.
Every model returns a dict of tensors from ``forward(images)``, images being
``(B, 3, H, W)`` float RGB in 0..1.
"""

from . import detector_net as _detector_net  # noqa: F401  (registers models)
from . import facing_net as _facing_net  # noqa: F401  (registers models)
from . import keypoint_net as _keypoint_net  # noqa: F401  (registers models)
from .registry import create_model, list_models, register_model

__all__ = ["create_model", "list_models", "register_model"]
