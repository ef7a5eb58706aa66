"""The demo: the whole chain on the built-in demo region, as a pipeline of stages.

Each capability of Tianshan adds its stage here, so ``tianshan demo`` always
runs everything that works, end to end.
"""
