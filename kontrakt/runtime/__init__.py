"""Hand-written runtime that generated servers and clients import."""

__all__: list[str] = []
