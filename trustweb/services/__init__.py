"""Business actions: one function per action, each one database transaction."""


class ServiceError(ValueError):
    """An action refused for a reason the user can act on; the message is shown as is."""
