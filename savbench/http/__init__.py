"""HTTP client for OpenAI-compatible endpoints (model adapters and LLM judges)."""

from savbench.http._client import RETRY_STATUS, ChatClient, ChatError, ChatStats, message_text

__all__ = ["RETRY_STATUS", "ChatClient", "ChatError", "ChatStats", "message_text"]
