"""Technical Service Assistant: answers from service manuals, citing document and page."""

__version__ = "0.1.0"
