"""The one exception type the CLI turns into a one-line error and a non-zero exit."""


class PipelineError(Exception):
    """A bad input or failed step. The message is one line: what is wrong and what to do."""


class ModelError(PipelineError):
    """A problem with one model file. The message names the file once, first: '<file>: <problem>:
    <what to do>', so every command reports the same bad model with the same line."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem
