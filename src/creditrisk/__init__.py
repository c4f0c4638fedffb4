"""creditrisk: enterprise credit-risk tiers, reasons and inspection plans for regulators.

Example
-------
>>> import creditrisk as cr
>>> tables = cr.load_sample().validate()
>>> int(tables.summary().loc["enterprises", "rows"])
10000
"""

from importlib.metadata import PackageNotFoundError, version

from creditrisk import schema, synth
from creditrisk.data import EventTables, load_sample
from creditrisk.schema import SchemaError

try:
    __version__ = version("creditrisk")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["EventTables", "SchemaError", "__version__", "load_sample", "schema", "synth"]
