"""Text a person or a file gave, made safe to store and show."""


def printable(text: str, limit: int) -> str:
    """Text a person or a file gave, without control characters (PostgreSQL refuses NUL), trimmed, at most limit
    long."""
    return "".join(ch for ch in text if ch.isprintable()).strip()[:limit]
