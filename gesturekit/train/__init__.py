"""Training tools (need the ``train`` extra: torch, albumentations, tqdm, matplotlib)."""
