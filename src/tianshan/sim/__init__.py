"""Scenario simulator: stochastic ground motion, station noise, instrument response, data faults.

Submodules are imported on demand (they pull in SciPy/ObsPy); importing this
package has no side effects.
"""
