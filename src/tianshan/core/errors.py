"""Errors raised by the domain model."""


class DomainError(ValueError):
    """A value that cannot describe a real object (bad code, impossible coordinate...).

    The message names the field and the offending value, so a reader can show
    it to a user as-is.
    """


class InputError(ValueError):
    """Bad user input: a file, line or field that cannot be used.

    The CLI prints ``str(err)`` on one line and exits with status 2.
    ``source`` is the file (or setting) and ``line`` the 1-based line number
    where known.
    """

    def __init__(self, message: str, source: str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        self.source = source
        self.line = line
        self.field = field
        where = ""
        if source:
            where = f"{source}"
            if line is not None:
                where += f":{line}"
            where += ": "
        if field:
            where += f"{field}: "
        super().__init__(f"{where}{message}")
        self.message = message
