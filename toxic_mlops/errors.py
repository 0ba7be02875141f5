"""The base of every error that is the user's to fix: steps print its message, not a traceback."""


class PipelineError(Exception):
    """Bad input, config or data; the message says what is wrong and what to change."""
