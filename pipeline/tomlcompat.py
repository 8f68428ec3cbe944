"""TOML reading on every Python the package supports: the standard library's tomllib from 3.11,
its backport tomli (the same parser, a dependency only there) on 3.10."""

import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised by the Python 3.10 CI job
    import tomli as tomllib

__all__ = ["tomllib"]
