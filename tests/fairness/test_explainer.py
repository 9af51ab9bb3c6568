import pytest
from aif360.explainers import Explainer, MetricTextExplainer
from aif360.metrics import BinaryLabelDatasetMetric, ClassificationMetric

from ai4media_ext.fairness import AudienceMetricExplainer, natural_frequency


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
    assert natural_frequency(u).capitalize() in pub and natural_frequency(p) in pub
    assert "women" in pub and "men" in pub
    eo = AudienceMetricExplainer(metric, "public", ("women", "men")).equal_opportunity_difference()
    assert natural_frequency(metric.true_positive_rate(privileged=False)) in eo.lower()


def test_dataset_metric_uses_base_rates(german):
    _, test, _ = german
    m = BinaryLabelDatasetMetric(test, [{"age": 0.0}], [{"age": 1.0}])
    text = AudienceMetricExplainer(m, "public").disparate_impact()
    assert natural_frequency(m.base_rate(privileged=True)) in text


def test_bad_arguments(metric):
    with pytest.raises(ValueError, match="audience"):
        AudienceMetricExplainer(metric, "kids")
    with pytest.raises(TypeError, match="group_names"):
        AudienceMetricExplainer(metric, "public", ("a",))
    with pytest.raises(TypeError, match="Metric"):
        AudienceMetricExplainer(object())
