"""diffprivlib 0.6.6's own test modules (verbatim from the PyPI sdist, MIT licence: LICENSE.md)
for the mechanisms, models and tools the secure switch touches.

They are collected only when ``AI4MEDIA_DPL_SUITE`` is set, by the wrapper
``tests/privacy/test_diffprivlib_suite.py``, which runs them in a subprocess with
``AI4MEDIA_DPL_SUITE=secure`` (the switch is on before any test module imports diffprivlib) or
``=original``.
"""

import os

_MODE = os.environ.get("AI4MEDIA_DPL_SUITE")

if not _MODE:
    collect_ignore_glob = ["test_*.py"]
elif _MODE == "secure":
    from ai4media_ext.privacy import enable_secure_mechanisms

    enable_secure_mechanisms()
