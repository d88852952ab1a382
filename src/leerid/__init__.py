"""leerid: an open implementation of LeerID, governed by its data-sharing protocols."""

from leerid.errors import LeeridError

__all__ = ["LeeridError", "__version__"]
__version__ = "0.1.0"
