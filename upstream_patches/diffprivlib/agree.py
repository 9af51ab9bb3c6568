"""Agreement check: the patched diffprivlib's ``LaplaceGranular`` and ai4media-ext's ``SecureLaplace``
give bit-identical outputs (and the same grid, bias and variance) at fixed seeds.

Run by ``upstream_patches/check.py diffprivlib`` in the scratch environment holding both the patched
diffprivlib and ai4media-ext; exits non-zero on any mismatch.
"""

import sys

import numpy as np
from diffprivlib.accountant import BudgetAccountant
from diffprivlib.mechanisms import LaplaceGranular

from ai4media_ext.privacy.mechanisms import SecureLaplace

SETTINGS = [(1.0, 1.0), (0.1, 3.5), (1e-9, 1.0), (50.0, 0.01), (2.0**-35, 4.0), (float("inf"), 1.0), (1.0, 0.0)]
N_VALUES = 400


def main() -> int:
    values = np.random.default_rng(0).normal(scale=5.0, size=N_VALUES)
    values[:4] = [0.0, 1.0, -0.5, 1e-300]
    failures = 0
    total = 0
    for seed, (eps, sens) in enumerate(SETTINGS):
        upstream = LaplaceGranular(epsilon=eps, sensitivity=sens, random_state=seed)
        ours = SecureLaplace(epsilon=eps, sensitivity=sens, random_state=seed, accountant=BudgetAccountant())
        up = np.array([upstream.randomise(float(v)) for v in values])
        mine_scalar = np.array([ours.randomise(float(v)) for v in values])
        same = np.array_equal(up, mine_scalar)
        props = (
            upstream.granularity == ours.granularity
            and upstream.variance(0.0) == ours.variance(0.0)
            and all(upstream.bias(float(v)) == ours.bias(float(v)) for v in values[:50])
        )
        total += len(values)
        failures += int(not same) + int(not props)
        print(f"epsilon={eps:<10g} sensitivity={sens:<6g} granularity={upstream.granularity:.3g} "
              f"randomise identical on {len(values)} values: {same}; granularity/bias/variance equal: {props}")
    print(f"agree: {'pass' if failures == 0 else 'FAIL'} ({total} draws compared, {failures} mismatching settings)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
