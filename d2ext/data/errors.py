__all__ = ["DatasetError"]


class DatasetError(ValueError):
    """Bad dataset input. The message names the file, the field and the value, and what to do."""
