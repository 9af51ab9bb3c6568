"""Explainability (extra ``[xai]``): captum interpreters and attributions, torch-geometric models,
SHAP / LIME explainers and GAN latent controls.

- ``rcv``: Regression Concept Vectors (captum ``ConceptInterpreter``), seed §4.2;
- ``objectgraphs``: ObjectGraphs (torch-geometric dense graph ops) and WiD (captum
  ``Attribution``), seed §4.4;
- ``decision_system``: structured explanations of multi-model decision systems (SHAP / LIME), §4.5;
- ``latent``: attribute directions in a GAN latent space and Morpho-MNIST measures, §4.6.

Names load on first use (the host toolkits are optional extras).
"""

from .._compat import lazy_exports

__all__ = [
    "DecisionSystem",
    "DecisionSystemExplainer",
    "DecisionSystemLimeExplainer",
    "LatentDirections",
    "Leaf",
    "morpho_measures",
    "ObjectGraphs",
    "RCV",
    "RegressionConcept",
    "Split",
    "ThresholdTree",
    "WeightedInDegree",
]

_LAZY = {
    "RCV": "rcv",
    "RegressionConcept": "rcv",
    "LatentDirections": "latent",
    "morpho_measures": "latent",
    "ObjectGraphs": "objectgraphs",
    "WeightedInDegree": "objectgraphs",
    "DecisionSystem": "decision_system",
    "DecisionSystemExplainer": "decision_system",
    "DecisionSystemLimeExplainer": "decision_system",
    "ThresholdTree": "decision_system",
    "Split": "decision_system",
    "Leaf": "decision_system",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
