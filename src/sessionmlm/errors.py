"""The one kind of error a workflow job reports in plain words, without a traceback."""


class UserError(ValueError):
    """A problem the user must fix (bad data, a model the data cannot support).

    The message says what is wrong and what to change; jobs end with it and a non-zero exit.
    """
