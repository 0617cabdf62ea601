"""cloudsaves: the device-side sync client of Cloud Saves (API.md sections 4-7 and 10)."""

__version__ = "0.1.0"
