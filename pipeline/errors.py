"""The one exception type the CLI turns into a one-line error and a non-zero exit."""


class PipelineError(Exception):
    """A bad input or failed step. The message is one line: what is wrong and what to do."""
