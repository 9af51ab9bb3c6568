"""The LIME-compatible path returns lime Explanation objects with the structured weights."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from lime.explanation import Explanation

from ai4media_ext._validation import InvalidParameterError
from ai4media_ext.explainability.decision_system import (
    DecisionSystemExplainer,
    DecisionSystemLimeExplainer,
)


def test_lime_explanation_object(synthetic):
    bg, x = synthetic.X[:30], synthetic.X[400]
    lime_ex = DecisionSystemLimeExplainer(synthetic.system, bg, num_samples=100, random_state=0)
    e = lime_ex.explain_instance(x, num_features=5)
    assert isinstance(e, Explanation)
    label = synthetic.system.classes_.tolist().index("approve")
    assert e.available_labels() == [label]
    pairs = e.as_list(label=label)
    assert len(pairs) == 5 and all(isinstance(n, str) for n, _ in pairs)
    ref = DecisionSystemExplainer(synthetic.system, bg, model_explainers="lime",
                                  lime_num_samples=100, seed=0).shap_values(x[None])[0]  # fmt: skip
    top = np.argsort(-np.abs(ref))[:5]
    assert [i for i, _ in e.as_map()[label]] == top.tolist()
    np.testing.assert_allclose([w for _, w in e.as_map()[label]], ref[top])
    np.testing.assert_allclose(e.predict_proba, synthetic.system.predict_proba(x[None])[0])
    e.as_pyplot_figure(label=label)
    plt.close("all")
    with pytest.raises(InvalidParameterError, match="num_features"):
        lime_ex.explain_instance(x, num_features=0)
