"""The policies shipped with creditrisk, as TOML files: ``national`` and ``daqing``.

Example
-------
>>> from importlib import resources
>>> resources.files("creditrisk.policies").joinpath("national.toml").is_file()
True
"""
