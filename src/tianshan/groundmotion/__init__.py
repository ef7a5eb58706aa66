"""Ground motion: instrumental intensity (GB/T 17742-2020), conversions to MMI, response spectra.

Subpackages and modules import their heavy libraries (numpy, scipy, obspy) inside
functions or only when imported themselves; importing this package is free.
"""
