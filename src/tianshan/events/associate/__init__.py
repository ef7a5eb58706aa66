"""Phase association: group P/S picks into events with PyOcto in the region's 1-D model.

Public API: :func:`associate` (the events), :func:`associate_picks` (events, leftover picks
and skip counts), :class:`AssociatorConfig`, :class:`Association`, :class:`AssociationResult`.
PyOcto and pandas are imported only when association runs.
"""

from tianshan.events.associate.associator import (Association, AssociationResult, associate,
                                                  associate_picks, azimuthal_gap_deg, phase_family)
from tianshan.events.associate.config import AssociatorConfig

__all__ = ["Association", "AssociationResult", "AssociatorConfig", "associate", "associate_picks",
           "azimuthal_gap_deg", "phase_family"]
