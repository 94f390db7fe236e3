"""The adapter interface every model family implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from savbench.adapters._request import Request

MODALITIES = frozenset({"speech", "audio", "video", "image"})


class SampleFailure:
    """Returned in place of an output when one request of a batch failed and the others did not
    (e.g. an API call that kept failing). The runner records it as an error row for that sample.

    Args:
        kind: Short error kind for the report (``api``, ``timeout``, ...).
        message: What went wrong.
    """

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        self.message = message

    def __repr__(self) -> str:
        return f"SampleFailure({self.kind!r}, {self.message!r})"


class Adapter(ABC):
    """A model behind one small interface.

    Subclasses set ``name`` and ``modalities`` and implement :meth:`generate`. Model arguments
    from ``--model-args k=v,...`` arrive as keyword arguments of ``__init__`` (strings; convert
    and validate them there and raise ``ValueError`` naming the argument when one is wrong).

    Attributes:
        name: Registered name, e.g. ``video-salmonn``.
        modalities: The streams the model consumes (subset of speech, audio, video, image).
        description: One line for ``savbench models``.
        requirements: What a user needs to run it (weights path, extra), for ``savbench models``.
        max_batch_size: The largest batch the adapter accepts in one ``generate`` call.
    """

    name: ClassVar[str] = ""
    modalities: ClassVar[frozenset[str]] = frozenset()
    description: ClassVar[str] = ""
    requirements: ClassVar[str] = ""
    max_batch_size: int = 1

    @abstractmethod
    def generate(self, requests: list[Request]) -> list[str | SampleFailure]:
        """Answer each request.

        Args:
            requests: A batch of decoded requests.

        Returns:
            One output string per request, in the same order, or a :class:`SampleFailure` for
            a request that failed on its own. Raise an exception when the whole batch fails;
            the runner then retries smaller batches and records an error row for a sample that
            fails alone.
        """

    def fingerprint(self) -> dict[str, Any]:
        """Everything about the model that changes its outputs (weights identity, dtype, args).

        Predictions cached under one fingerprint are never served for another.
        """
        return {"adapter": self.name}

    def close(self) -> None:
        """Release devices and files (nothing to release by default)."""
        return None
