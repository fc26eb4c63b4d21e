"""Business actions: one function per action, each one database transaction."""


def printable(text, limit):
    """Text a person or a file gave, without control characters (PostgreSQL refuses NUL), trimmed, at most limit
    long."""
    return "".join(ch for ch in text if ch.isprintable()).strip()[:limit]
