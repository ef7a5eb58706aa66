"""Ground-motion prediction: OpenQuake hazardlib GMPEs (:mod:`.gmpe`), the elliptical Chinese
intensity attenuation (:mod:`.attenuation`), site terms and Vs30 (:mod:`.site`) and
source-to-site distances (:mod:`.distances`).

Importing this package loads nothing heavy; numpy and hazardlib are imported inside functions.
"""
