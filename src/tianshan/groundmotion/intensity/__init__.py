"""Instrumental intensity: GB/T 17742-2020 Appendix A (:mod:`.gbt17742`), record processing
(:mod:`.records`, imports ObsPy/SciPy when used) and conversions to and from MMI (:mod:`.mmi`).

Importing this package loads only the formula modules (no numpy, scipy or obspy).
"""

from tianshan.groundmotion.intensity.gbt17742 import (BANDS, IntensityBand, band, degree,
                                                      instrumental_intensity, intensity_from_pga,
                                                      intensity_from_pgv, roman)
from tianshan.groundmotion.intensity.mmi import cn_from_mmi, mmi_from_cn, mmi_from_motion, motion_from_mmi

__all__ = ["BANDS", "IntensityBand", "band", "degree", "instrumental_intensity", "intensity_from_pga",
           "intensity_from_pgv", "roman", "cn_from_mmi", "mmi_from_cn", "mmi_from_motion", "motion_from_mmi"]
