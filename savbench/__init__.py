"""savbench: evaluation harness for speech-audio-visual LLMs."""

__version__ = "0.1.0"
