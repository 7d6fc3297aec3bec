"""custody: forensic evidence preservation and chain of custody."""

__version__ = "0.1.0"
TOOL_NAME = "custody"
