"""microdrama: an open, self-hostable platform for vertical micro-drama series."""

__version__ = "0.1.0"
