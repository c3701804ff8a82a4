"""Domain errors carry a message meant for the person in front of the screen."""


class DomainError(Exception):
    """A rule of the center refused the action; ``message`` is shown in the page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
