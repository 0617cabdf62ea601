"""Cloud Saves: the layer every function shares."""

# The service's own version (the heartbeat's SYSTEM.VERSION is the RomM API level it implements).
__version__ = "1.1.0"
