"""ai4media-ext: AI4Media trustworthy-AI methods as plugins for the toolkits their users run.

Importing this package is cheap: no host toolkit (ART, AIF360, diffprivlib, Flower,
torch-geometric, captum) is imported until a sub-package that needs it is imported.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
