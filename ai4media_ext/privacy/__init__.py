"""Privacy: diffprivlib mechanisms, LPGNN on torch-geometric, Flower strategies.

Each sub-package imports its own host; this package itself imports nothing heavy.
"""
