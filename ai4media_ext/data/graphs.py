"""Graph data sets: Cora (Planetoid), MUSAE Facebook page-page, Twitch ENGB, Zachary's karate club."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from .._compat import require
from ._paths import cache_dir, data_root, require_file

PLANETOID_SUFFIXES = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
# page_type -> the integer ids of karateclub's facebook/target.csv, the file LPGNN reads.
FACEBOOK_LABELS = {"company": 0, "tvshow": 1, "politician": 2, "government": 3}


def load_cora(
    root: str | os.PathLike[str] | None = None, *, transform: Any = None, cache: Path | None = None
) -> Any:
    """Cora through ``torch_geometric.datasets.Planetoid``, offline.

    The eight raw files ``planetoid/Cora/raw/ind.cora.*`` are copied from the (possibly
    read-only) data root into a scratch folder, where Planetoid writes ``processed/``.
    Returns the ``Data`` object (2708 nodes, 1433 features, 7 classes).
    """
    require("torch_geometric", "gnn")
    from torch_geometric.datasets import Planetoid

    src_root = data_root(root)
    files = [require_file(src_root, f"planetoid/Cora/raw/ind.cora.{s}") for s in PLANETOID_SUFFIXES]
    scratch = Path(cache) if cache is not None else cache_dir("planetoid")
    raw = scratch / "Cora" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for f in files:
        dst = raw / f.name
        if not dst.exists() or dst.stat().st_size != f.stat().st_size:
            shutil.copyfile(f, dst)
    dataset = Planetoid(root=str(scratch), name="Cora", transform=transform)
    return dataset[0]


def _read_csv_ints(path: Path, usecols: tuple[int, ...]) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", skiprows=1, usecols=usecols, dtype=np.int64, ndmin=2)


def _graph(x: np.ndarray, edges: np.ndarray, y: np.ndarray) -> Any:
    torch = require("torch", "gnn")
    require("torch_geometric", "gnn")
    from torch_geometric.data import Data
    from torch_geometric.utils import to_undirected

    n = len(y)
    edge_index = to_undirected(torch.from_numpy(np.ascontiguousarray(edges.T)), num_nodes=n)
    return Data(x=torch.from_numpy(x), edge_index=edge_index, y=torch.from_numpy(y))


def load_facebook(root: str | os.PathLike[str] | None = None) -> Any:
    """MUSAE Facebook page-page graph with its raw 4714 binary bag-of-words features.

    Returns ``Data(x=[22470, 4714], edge_index=[2, 341825], y=[22470])`` (4 classes, undirected).
    """
    base = data_root(root)
    target = require_file(base, "graph/musae_facebook/facebook_target.csv")
    edges = require_file(base, "graph/musae_facebook/facebook_edges.csv")
    features = require_file(base, "graph/musae_facebook/facebook_features.json")

    import csv

    with target.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    ids = np.array([int(r["id"]) for r in rows])
    y = np.empty(len(rows), dtype=np.int64)
    y[ids] = [FACEBOOK_LABELS[r["page_type"]] for r in rows]
    feats: dict[str, list[int]] = json.loads(features.read_text())
    n_feat = 1 + max(max(v) for v in feats.values() if v)
    x = np.zeros((len(rows), n_feat), dtype=np.float32)
    node_idx = np.repeat(np.fromiter(map(int, feats), np.int64), [len(v) for v in feats.values()])
    feat_idx = np.fromiter((i for v in feats.values() for i in v), np.int64)
    x[node_idx, feat_idx] = 1.0
    return _graph(x, _read_csv_ints(edges, (0, 1)), y)


def load_twitch(root: str | os.PathLike[str] | None = None) -> Any:
    """Twitch ENGB (karateclub layout): ``Data(x=[7126, 3170], edge_index=[2, 70648], y=[7126])``."""
    base = data_root(root)
    raw = "graph/karateclub/twitch/raw"
    edges = _read_csv_ints(require_file(base, f"{raw}/edges.csv"), (0, 1))
    target = _read_csv_ints(require_file(base, f"{raw}/target.csv"), (0, 1))
    feats = np.loadtxt(
        require_file(base, f"{raw}/features.csv"), delimiter=",", skiprows=1, ndmin=2
    )
    feats = np.unique(feats, axis=0)  # the csv repeats some (node, feature, value) rows
    y = np.empty(len(target), dtype=np.int64)
    y[target[:, 0]] = target[:, 1]
    rows, cols = feats[:, 0].astype(np.int64), feats[:, 1].astype(np.int64)
    x = np.zeros((len(y), int(cols.max()) + 1), dtype=np.float32)
    x[rows, cols] = feats[:, 2]
    return _graph(x, edges, y)


def load_karate_club() -> Any:
    """Zachary's karate club as shipped inside torch-geometric (34 nodes, 4 classes)."""
    require("torch_geometric", "gnn")
    from torch_geometric.datasets import KarateClub

    return KarateClub()[0]
