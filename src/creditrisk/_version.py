"""The installed version of creditrisk, readable from any box without importing the rest.

Examples
--------
>>> from creditrisk._version import __version__
>>> __version__.count(".") >= 2
True
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("creditrisk")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
