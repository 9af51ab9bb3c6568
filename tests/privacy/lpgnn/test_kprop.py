import pytest
import torch
from torch_geometric.testing import assert_module
from torch_geometric.utils import to_torch_csr_tensor, to_undirected

from ai4media_ext.data import load_karate_club
from ai4media_ext.privacy.lpgnn import KProp


def dense_kprop(x, edge_index, steps, add_self_loops=False):
    """(D^-1/2 A D^-1/2)^K X with a dense adjacency."""
    n = x.size(0)
    a = torch.zeros(n, n, dtype=torch.float64)
    a[edge_index[1], edge_index[0]] = 1.0
    if add_self_loops:
        a.fill_diagonal_(1.0)
    deg = a.sum(dim=1)
    d = torch.where(deg > 0, deg.pow(-0.5), torch.zeros_like(deg))
    return torch.linalg.matrix_power(d[:, None] * a * d[None, :], steps) @ x.double()


@pytest.fixture
def graph():
    # a path 0-1-2-3 plus a triangle 3-4-5 and an isolated node 6
    edge_index = to_undirected(torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 3]]))
    x = torch.randn(7, 5, generator=torch.Generator().manual_seed(0))
    return x, edge_index


@pytest.mark.parametrize("steps", [0, 1, 2, 5])
@pytest.mark.parametrize("self_loops", [False, True])
def test_equals_dense_normalised_adjacency_power(graph, steps, self_loops):
    x, edge_index = graph
    out = KProp(steps, add_self_loops=self_loops)(x, edge_index)
    expected = dense_kprop(x, edge_index, steps, self_loops)
    torch.testing.assert_close(out.double(), expected, rtol=1e-5, atol=1e-6)


def test_on_karate_club():
    data = load_karate_club()
    out = KProp(3)(data.x, data.edge_index)
    torch.testing.assert_close(out.double(), dense_kprop(data.x, data.edge_index, 3))


def test_pyg_module_checks(graph):
    x, edge_index = graph
    for conv in (KProp(2), KProp(3, add_self_loops=True)):
        # shape, edge-permutation invariance and every sparse layout PyG tests by default
        assert_module(conv, x, edge_index, expected_size=(7, 5))
        # the CSR layout the trainer uses (the graph is undirected, so adj = adj_t)
        expected = conv(x, edge_index)
        torch.testing.assert_close(conv(x, to_torch_csr_tensor(edge_index, size=(7, 7))), expected)


def test_repr_and_no_parameters():
    conv = KProp(4)
    assert str(conv) == "KProp(steps=4, add_self_loops=False, normalize=True)"
    assert list(conv.parameters()) == []


def test_cached_output_and_reset(graph):
    x, edge_index = graph
    conv = KProp(2, cached=True)
    first = conv(x, edge_index)
    assert conv(x, edge_index) is conv(x, edge_index)  # the same inputs: served from the cache
    assert torch.equal(conv(x, edge_index), first)
    # other inputs are never served the cache (issue 15, item 3)
    assert torch.equal(conv(torch.zeros_like(x), edge_index), torch.zeros_like(x))
    conv.reset_parameters()
    assert conv._cached_x is None


@pytest.mark.parametrize("steps, error", [(-1, ValueError), (1.5, TypeError), (True, TypeError)])
def test_bad_steps(steps, error):
    with pytest.raises(error, match="steps"):
        KProp(steps)


def test_self_loops_without_normalisation_is_refused_not_ignored():
    """Self loops are added inside the normalisation; with ``normalize=False`` they would be
    silently dropped, so the combination is an error (as PyG's GCNConv)."""
    from ai4media_ext._validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="add_self_loops.*normalize=True"):
        KProp(2, add_self_loops=True, normalize=False)
    KProp(2, add_self_loops=True, normalize=True)
    KProp(2, add_self_loops=False, normalize=False)
