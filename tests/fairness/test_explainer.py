import pytest
from aif360.explainers import Explainer, MetricTextExplainer
from aif360.metrics import BinaryLabelDatasetMetric, ClassificationMetric

from ai4media_ext.fairness import AudienceMetricExplainer
from ai4media_ext.fairness._wording import common_denominator


@pytest.fixture(scope="module")
def metric(german):
    _, test, clf = german
    pred = test.copy(deepcopy=True)
    pred.labels = clf.predict(test.features).reshape(-1, 1)
    return ClassificationMetric(test, pred, [{"sex": 0.0}], [{"sex": 1.0}])


def test_is_a_drop_in_metric_text_explainer(metric):
    exp = AudienceMetricExplainer(metric)
    assert isinstance(exp, MetricTextExplainer) and isinstance(exp, Explainer)
    # methods it does not reword are AIF360's own
    assert exp.accuracy() == MetricTextExplainer(metric).accuracy()
    # expert text keeps AIF360's sentence and adds definition + verdict
    aif = MetricTextExplainer(metric).disparate_impact()
    assert exp.disparate_impact().startswith(aif) and "threshold" in exp.disparate_impact()


def test_levels_word_the_same_value(metric):
    di = metric.disparate_impact()
    dm = AudienceMetricExplainer(metric, "decision_maker").disparate_impact()
    assert f"{di:.3f}" in dm
    pub = AudienceMetricExplainer(metric, "public", ("women", "men")).disparate_impact()
    u, p = (metric.selection_rate(privileged=v) for v in (False, True))
    d, (a, b) = common_denominator([u, p])
    assert f"Out of every {d:,} people: {a} in the women group vs {b} in the men group." in pub
    eo = AudienceMetricExplainer(metric, "public", ("women", "men")).equal_opportunity_difference()
    u, p = (metric.true_positive_rate(privileged=v) for v in (False, True))
    d, (a, b) = common_denominator([u, p])
    assert f"how many got it? Out of every {d:,} people: {a} in the women group vs {b}" in eo


def test_dataset_metric_uses_base_rates(german):
    _, test, _ = german
    m = BinaryLabelDatasetMetric(test, [{"age": 0.0}], [{"age": 1.0}])
    text = AudienceMetricExplainer(m, "public").disparate_impact()
    d, (_, b) = common_denominator([m.base_rate(privileged=v) for v in (False, True)])
    assert text.startswith("How many had the favourable outcome in the data?")
    assert f"vs {b} in the privileged group." in text


def test_bad_arguments(metric):
    with pytest.raises(ValueError, match="audience"):
        AudienceMetricExplainer(metric, "kids")
    with pytest.raises(TypeError, match="group_names"):
        AudienceMetricExplainer(metric, "public", ("a",))
    with pytest.raises(TypeError, match="Metric"):
        AudienceMetricExplainer(object())


class _AudienceParent(MetricTextExplainer):
    """An AIF360 parent with audience levels (as upstream_patches/aif360 adds): it words the
    text itself once ``self.audience`` is set."""

    def __init__(self, metric, audience=None, group_names=("unprivileged", "privileged")):
        super().__init__(metric)
        self.audience, self.group_names = audience, tuple(group_names)

    def disparate_impact(self):
        text = super().disparate_impact()
        return text if self.audience is None else f"{text} <{self.audience}:{self.group_names}>"


def test_hands_over_to_a_parent_with_audience_levels(metric):
    class OnPatched(AudienceMetricExplainer, _AudienceParent):
        pass

    aif = MetricTextExplainer(metric).disparate_impact()
    exp = OnPatched(metric, "expert", ["women", "men"])
    # the parent's wording, once: no second annotation of ours
    assert exp.disparate_impact() == f"{aif} <expert:('women', 'men')>"
    assert "threshold" not in exp.disparate_impact()
    assert exp.audience == "expert" and exp.group_names == ("women", "men")
    # a release parent (AIF360 0.6.1): our own wording
    own = AudienceMetricExplainer(metric, "expert").disparate_impact()
    assert own.startswith(aif) and own.count("[") == 1 and "threshold" in own
