"""Offsets: long one-sided excursions of the record's level (steps, mass re-centring, recovery).

Seismic signals oscillate about the record's level: over a block of
:attr:`QCConfig.offset_block_s` seconds their median stays within a few times
the block's own robust spread (1.4826 MAD about the block median), even for
long-period surface waves. A sensor recovering after power-up or a mass
re-centring shifts the whole block: the block median departs from the
record's level (the median of the block medians) by more than
:attr:`QCConfig.offset_threshold` times both its own spread and the typical
(median) block spread. Such blocks at most 3 blocks apart
form one span, kept when it is at least 3 blocks long; ``value`` is the most extreme sample in it (MUSTANG reports the same
excursion as ``sample_min``/``sample_max``, e.g. -2,246,467 counts on
II.KAPI.00.BHZ 2013-01-06). Not masked by default: band-pass filtering
removes it, and the picks on top of it are good.
"""

from __future__ import annotations

import numpy as np

from tianshan.core.qc import QCKind, QCRecord
from tianshan.qc.base import ChannelData, Metric, register_metric, runs

MAD_TO_SD = 1.4826
MIN_BLOCKS = 3  # a span lasts at least 3 blocks (slow wander of one block is not an offset)
MERGE_BLOCKS = 3


def offset_blocks(x: np.ndarray, block: int, threshold: float) -> tuple[np.ndarray, float]:
    """Boolean per whole block of ``block`` samples: is it offset? And the record level."""
    nb = x.size // block
    if nb < 3:
        return np.zeros(0, dtype=bool), float("nan")
    b = x[: nb * block].reshape(nb, block)[:, :: max(1, block // 128)]  # <= ~256 samples per block suffice
    med = np.median(b, axis=1)
    spread = MAD_TO_SD * np.median(np.abs(b - med[:, None]), axis=1)
    level = float(np.median(med))
    typical = float(np.median(spread))
    floor = max(typical * 1e-3, 1e-12)  # a flat block has no spread of its own
    dev = np.abs(med - level)
    return (dev > threshold * np.maximum(spread, floor)) & (dev > threshold * typical), level


@register_metric
class Offset(Metric):
    name = "offset"
    kinds = (QCKind.OFFSET,)

    def measure(self, ch: ChannelData) -> list[QCRecord]:
        cfg = self.config
        block = max(10, int(round(cfg.offset_block_s * ch.sampling_rate_hz)))
        out = []
        for tr in ch.traces:
            x = tr.data
            if not np.isfinite(x).all() or np.ptp(x) == 0:
                continue
            flags, level = offset_blocks(x, block, cfg.offset_threshold)
            spans = runs(flags)
            if spans.size:  # join spans <= MERGE_BLOCKS apart, keep those >= MIN_BLOCKS long
                cut = np.flatnonzero(spans[1:, 0] - spans[:-1, 1] - 1 > MERGE_BLOCKS) + 1
                spans = np.array([(g[0, 0], g[-1, 1]) for g in np.split(spans, cut)])
                spans = spans[spans[:, 1] - spans[:, 0] + 1 >= MIN_BLOCKS]
            for a, b in spans:
                i0, i1 = int(a) * block, min(x.size, (int(b) + 1) * block) - 1
                seg = x[i0:i1 + 1]
                k = int(np.argmax(np.abs(seg - level)))
                out.append(ch.record(QCKind.OFFSET, ch.sample_time(tr, i0), ch.sample_time(tr, i1), seg[k],
                                     f"level {level:g}, {b - a + 1} blocks of {block} samples offset"))
        return out
