"""Tianshan: a regional seismic network system, from ground motion to alerts.

Importing the package has no side effects and pulls in no heavy library;
each stage imports what it needs when it runs.
"""

__version__ = "0.1.0"
