"""Release a vector of counts with SecureLaplace and a diffprivlib budget accountant.

Run: python examples/secure_laplace.py
"""

import numpy as np
from diffprivlib.accountant import BudgetAccountant

from ai4media_ext import registry

accountant = BudgetAccountant(epsilon=2.0)
mech = registry.build_from_config(
    {
        "group": "ai4media_ext.diffprivlib.mechanisms",
        "name": "secure_laplace",
        "params": {"epsilon": 0.5, "sensitivity": 1.0, "accountant": accountant},
    }
)
counts = np.array([120, 45, 3, 0, 981])
print("noisy counts:", mech.randomise(counts))
print("every output is a multiple of", mech.granularity)
print("budget spent:", accountant.total())
