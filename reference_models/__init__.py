"""In-repo reference implementations of audio-visual LLMs (``reference_models.video_salmonn``).

Submodules import torch; this package itself imports nothing heavy.
"""
