"""SecAgg+ building blocks shared by the server wrapper and the client mod (Bell et al. 2020).

Cryptography comes from Flower's own primitives (``flwr.common.secure_aggregation``: ECDH key
agreement + HKDF, Fernet authenticated encryption of the shares, Shamir sharing over GF(2^128))
and from ``cryptography`` (SHA-256, HKDF, AES-256-CTR). Nothing here implements a cipher.

One deliberate deviation from Flower's legacy ``secaggplus_mod``: the masks are expanded with
AES-256-CTR keyed by HKDF-SHA256(seed) (a cryptographic PRG), not with
``flwr.common.secure_aggregation.secaggplus_utils.pseudo_rand_gen``, which seeds numpy's
Mersenne Twister with the 32-bit XOR of the seed words (2^32 candidate masks: a server could
search them). With ``modulus_range = 2^b`` (b <= 32) the masks are exactly uniform on
[0, 2^b).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from Crypto.Protocol.SecretSharing import Shamir
from Crypto.Util.Padding import pad, unpad
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flwr.common.secure_aggregation.crypto.symmetric_encryption import generate_shared_key
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, Key, Stage
from flwr.supercore.primitives.asymmetric import (
    bytes_to_private_key,
    bytes_to_public_key,
    public_key_to_bytes,
)

__all__ = [
    "RECORD_KEY_CONFIGS",
    "Key",
    "SecAggError",
    "Stage",
    "commitment",
    "dequantize",
    "mask",
    "quantize",
    "recover_secret",
]

#: extra wire keys (next to Flower's ``Key``): seed commitment, model layout, survivor floor
COMMITMENT = "seed_commitment"
STRUCTURE = "structure"
MIN_SURVIVORS = "min_survivors"
HE_META = "he-secagg-meta"  # an encrypted HESecAggPlus aggregate: its layout is in here
_INFO = b"ai4media-ext secagg+ mask v1"


class SecAggError(RuntimeError):
    """A SecAgg+ round cannot complete soundly (too few clients or shares, a share or masked
    vector that fails verification, an aggregate that could overflow the modulus)."""


def commitment(seed: bytes) -> bytes:
    """SHA-256 commitment to a 32-byte uniformly random mask seed (hiding and binding in the
    random-oracle model); lets the server verify a seed reconstructed from shares."""
    return hashlib.sha256(b"ai4media-ext secagg+ seed" + seed).digest()


def mask(seed: bytes, size: int, modulus: int) -> np.ndarray:
    """``size`` uniform integers in [0, modulus), ``uint32``, from the 32-byte ``seed``.

    AES-256-CTR keystream under the key HKDF-SHA256(seed); ``modulus`` is a power of two
    <= 2^32, so masking the low bits keeps the values exactly uniform.
    """
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(seed)
    stream = Cipher(algorithms.AES(key), modes.CTR(bytes(16))).encryptor()
    out = np.frombuffer(stream.update(bytes(4 * size)), dtype=np.uint32).copy()
    if modulus < 2**32:
        out &= np.uint32(modulus - 1)
    return out


def reduce(values: np.ndarray, modulus: int) -> np.ndarray:
    """``values mod modulus`` in place for uint32 arrays (wrap-around already gives mod 2^32)."""
    if modulus < 2**32:
        values &= np.uint32(modulus - 1)
    return values


def quantize(
    flat: np.ndarray, clipping_range: float, target_range: int, rng: np.random.Generator
) -> np.ndarray:
    """Flower's SecAgg+ quantiser, vectorised: clip to [-c, c], map to [0, target_range] and
    round stochastically (unbiased), ``uint32``. Same formula as
    ``flwr.common.secure_aggregation.quantization.quantize``, with a seeded generator."""
    scaled = (np.clip(flat, -clipping_range, clipping_range) + clipping_range) * (
        target_range / (2.0 * clipping_range)
    )
    low = np.floor(scaled)
    up = rng.random(scaled.shape) < (scaled - low)
    return (low + up).astype(np.uint32)


def dequantize(
    total: np.ndarray, n_clients: int, clipping_range: float, target_range: int
) -> np.ndarray:
    """The float sum over ``n_clients`` of the values whose quantised sum is ``total``."""
    return total.astype(np.float64) * (2.0 * clipping_range / target_range) - (
        n_clients * clipping_range
    )


def structure(arrays: Sequence[tuple[str, np.ndarray]]) -> str:
    """JSON layout (name, shape, dtype) of the model arrays, in order."""
    return json.dumps([[k, list(a.shape), str(a.dtype)] for k, a in arrays])


def unflatten(flat: np.ndarray, spec: str) -> list[tuple[str, np.ndarray]]:
    """Split a flat vector back into the arrays of ``spec`` (dtype restored)."""
    out, start = [], 0
    for name, shape, dtype in json.loads(spec):
        size = int(np.prod(shape, dtype=np.int64))
        piece = flat[start : start + size].reshape(shape)
        if np.issubdtype(np.dtype(dtype), np.integer):
            piece = np.rint(piece)
        out.append((name, piece.astype(dtype)))
        start += size
    return out


def create_shares(secret: bytes, threshold: int, num: int) -> list[bytes]:
    """Shamir shares of ``secret`` in Flower's wire format (``flwr.common.secure_aggregation.
    crypto.shamir.create_shares``: 4-byte index + one 16-byte pycryptodome share per padded
    16-byte chunk), computed in the calling thread: Flower's version starts a thread pool per
    call, which costs more than the GF(2^128) arithmetic for 32-byte secrets."""
    padded = pad(secret, 16)
    out = [bytearray(i.to_bytes(4, "little")) for i in range(1, num + 1)]
    for start in range(0, len(padded), 16):
        for idx, share in Shamir.split(threshold, num, padded[start : start + 16], ssss=False):
            out[idx - 1] += share
    return [bytes(s) for s in out]


def _combine(shares: Sequence[bytes]) -> bytes | None:
    """Inverse of :func:`create_shares` (Flower's ``combine_shares``, serial); None if the
    shares are inconsistent or malformed."""
    try:
        chunks = (len(shares[0]) - 4) >> 4
        if chunks < 1 or any(len(s) != 4 + 16 * chunks for s in shares):
            return None
        index = [int.from_bytes(s[:4], "little") for s in shares]
        padded = b"".join(
            Shamir.combine([(i, s[4 + 16 * c : 20 + 16 * c]) for i, s in zip(index, shares, strict=True)],
                           ssss=False)
            for c in range(chunks)
        )  # fmt: skip
        return unpad(padded, 16)
    except (ValueError, IndexError, TypeError):
        return None


def scalar_bytes(private_key: bytes) -> bytes:
    """The 48-byte private scalar of a Flower (SECP384R1) private key: 4 Shamir chunks to
    share instead of the 12 of its serialised form."""
    return bytes_to_private_key(private_key).private_numbers().private_value.to_bytes(48, "big")


def key_from_scalar(scalar: bytes) -> ec.EllipticCurvePrivateKey:
    """The SECP384R1 private key with the 48-byte ``scalar`` (inverse of :func:`scalar_bytes`)."""
    return ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP384R1())


def _check_sk(secret: bytes, public: bytes) -> bool:
    try:
        return public_key_to_bytes(key_from_scalar(secret).public_key()) == public
    except (ValueError, TypeError):
        return False


def recover_secret(
    shares: dict[int, bytes],
    threshold: int,
    *,
    seed_commitment: bytes | None = None,
    public_key: bytes | None = None,
    max_tries: int = 256,
) -> tuple[bytes, list[int]]:
    """Reconstruct a Shamir-shared secret and verify it.

    A mask seed is checked against its SHA-256 ``seed_commitment``, a private key against its
    ``public_key``. If the first ``threshold`` shares fail, subsets of ``threshold`` shares are tried (at
    most ``max_tries``) to find the consistent ones.

    Returns
    -------
    (secret, bad) : the verified secret and the share holders whose shares disagree with it.

    Raises
    ------
    SecAggError
        Fewer than ``threshold`` shares, or no subset verifies.
    """
    if len(shares) < threshold:
        raise SecAggError(f"{len(shares)} shares, {threshold} needed")

    def ok(secret: bytes | None) -> bool:
        if secret is None:
            return False
        if seed_commitment is not None:
            return commitment(secret) == seed_commitment
        return public_key is not None and _check_sk(secret, public_key)

    holders = sorted(shares)
    secret = _combine([shares[h] for h in holders[:threshold]])
    if ok(secret):
        return secret, []
    for subset in itertools.islice(itertools.combinations(holders, threshold), max_tries):
        secret = _combine([shares[h] for h in subset])
        if ok(secret):
            bad = [
                h
                for h in holders
                if h not in subset and _combine([shares[x] for x in (*subset[1:], h)]) != secret
            ]
            return secret, bad
    raise SecAggError(f"no {threshold} of the {len(shares)} shares reconstruct a verified secret")


def parse_masked(blob: Any, size: int, modulus: int) -> np.ndarray:
    """A client's masked vector from the wire, or :class:`SecAggError` if it is malformed."""
    if not isinstance(blob, bytes):
        raise SecAggError("masked vector is not bytes")
    if len(blob) != 4 * size:
        raise SecAggError(f"masked vector has {len(blob)} bytes, expected {4 * size}")
    vec = np.frombuffer(blob, dtype="<u4").astype(np.uint32)
    if modulus < 2**32 and vec.size and int(vec.max()) >= modulus:
        raise SecAggError(f"masked vector holds values >= modulus_range {modulus}")
    return vec


def neighbours(node_ids: Sequence[int], num_shares: int, rng: np.random.Generator) -> dict:
    """SecAgg+'s communication graph (as Flower's workflow): nodes shuffled on a ring, each
    with the ``num_shares // 2`` nodes on either side (itself included)."""
    order = [int(node_ids[i]) for i in rng.permutation(len(node_ids))]
    half, n = num_shares // 2, len(order)
    return {
        nid: {order[(i + off) % n] for off in range(-half, half + 1)} for i, nid in enumerate(order)
    }


def remove_masks(
    total: np.ndarray,
    alive: set[int],
    dead: set[int],
    seed_shares: dict[int, dict[int, bytes]],
    key_shares: dict[int, dict[int, bytes]],
    st: dict[str, Any],
    modulus: int,
) -> list[tuple[int, int]]:
    """Subtract (in place) the survivors' private masks and the pairwise masks between the
    survivors and the clients that dropped after sharing keys; secrets are verified
    (:func:`recover_secret`). Returns (share holder, secret owner) of every wrong share.

    Raises
    ------
    SecAggError
        A secret cannot be reconstructed and verified.
    """
    size, threshold, wrong = st["size"], st["threshold"], []
    for v in sorted(alive):
        seed, bad = recover_secret(seed_shares[v], threshold, seed_commitment=st["commitments"][v])
        wrong += [(h, v) for h in bad]
        total -= mask(seed, size, modulus)
    for v in sorted(dead):
        sk, bad = recover_secret(key_shares[v], threshold, public_key=st["keys"][v][0])
        wrong += [(h, v) for h in bad]
        secret = key_from_scalar(sk)
        for u in sorted(alive):
            if any(s == v for s, _ in st["forward"][u]):
                pk1 = bytes_to_public_key(st["keys"][u][0])
                pair = mask(generate_shared_key(secret, pk1), size, modulus)
                if u > v:  # u added +pair (uint32 wrap-around: arithmetic mod 2^32)
                    total -= pair
                else:
                    total += pair
    return wrong


def resolve_sizes(
    num_shares: float, threshold: float, min_survivors: float | None, n: int
) -> tuple[int, int, int]:
    """(num_shares, threshold, survivor floor) for ``n`` sampled clients: Flower's
    ``SecAggPlusWorkflow`` rules for the first two (a float is a fraction; an even share
    count below ``n`` is made odd; the threshold is at least 2); the floor is the larger of
    the threshold and ``min_survivors`` (a float: fraction of ``n``, rounded up)."""
    if isinstance(num_shares, numbers.Integral):
        shares = min(int(num_shares), n)
    else:
        shares = round(num_shares * n)
        if shares < n and shares % 2 == 0:
            shares += 1
        shares = n if shares <= 2 else min(shares, n)
    if isinstance(threshold, numbers.Integral):
        t = int(threshold)
    else:
        t = max(round(threshold * shares), 2)
    if min_survivors is None:
        floor = t
    elif isinstance(min_survivors, numbers.Integral):
        floor = max(t, int(min_survivors))
    else:
        floor = max(t, int(np.ceil(min_survivors * n)))
    return shares, t, floor


def check_alive(st: dict[str, Any], alive: set[int]) -> None:
    """:class:`SecAggError` unless at least the floor of clients is alive and each keeps at
    least ``threshold`` live neighbours (Flower's ``_check_threshold``)."""
    if len(alive) < st["floor"]:
        raise SecAggError(
            f"{len(alive)} clients left, fewer than the reconstruction threshold / "
            f"min_survivors {st['floor']}"
        )
    for nid in alive:
        live = len(st["neighbours"][nid] & alive)
        if live < st["threshold"]:
            raise SecAggError(
                f"node {nid} has {live} live neighbours, fewer than the reconstruction "
                f"threshold {st['threshold']}"
            )


def parse_reply(msg: Any, st: dict[str, Any], weighted_by_key: str, modulus: int) -> np.ndarray:
    """The masked vector of a collect-stage reply, or :class:`SecAggError` if the reply is
    malformed (no vector, plaintext arrays beside it, another model layout, no weight)."""
    rec = msg.content.config_records.get(RECORD_KEY_CONFIGS)
    if rec is None or msg.content.array_records:
        raise SecAggError("no masked vector, or plaintext arrays next to it")
    if rec.get(STRUCTURE) != st["structure"]:
        raise SecAggError("model layout differs from the arrays sent")
    if sum(weighted_by_key in r for r in msg.content.metric_records.values()) != 1:
        raise SecAggError(f"needs one MetricRecord with {weighted_by_key!r}")
    return parse_masked(rec.get(Key.MASKED_PARAMETERS), st["size"], modulus)


def share_keys_reply(rec: Any, allowed: set[int]) -> tuple[list, list, bytes] | None:
    """(destinations, share ciphertexts, seed commitment) of a share-keys reply, or None if
    malformed (destinations other than the live neighbours, non-bytes, bad commitment)."""
    dsts, ctxts = rec.get(Key.DESTINATION_LIST), rec.get(Key.CIPHERTEXT_LIST)
    commit = rec.get(COMMITMENT)
    if not (isinstance(dsts, list) and isinstance(ctxts, list)
            and sorted(dsts) == sorted(allowed) and len(ctxts) == len(dsts)
            and all(isinstance(c, bytes) for c in ctxts)
            and isinstance(commit, bytes) and len(commit) == 32):  # fmt: skip
        return None
    return dsts, ctxts, commit


def unmask_reply(rec: Any, nids: list[int]) -> list[bytes] | None:
    """The shares of an unmask reply for exactly the requested ``nids``, or None."""
    got, shares = rec.get(Key.NODE_ID_LIST), rec.get(Key.SHARE_LIST)
    if got != nids or not isinstance(shares, list) or len(shares) != len(nids):
        return None
    return shares if all(isinstance(s, bytes) for s in shares) else None


def layout(arrays: Any) -> tuple[str, int]:
    """(structure, masked-vector size) of the model the server sends: its plain arrays, or
    the layout recorded in an encrypted :class:`HESecAggPlus` aggregate."""
    if HE_META in arrays:
        spec = json.loads(bytes(arrays[HE_META].numpy()).decode())["structure"]
    else:
        spec = structure([(k, v.numpy()) for k, v in arrays.items()])
    return spec, 1 + sum(int(np.prod(shape, dtype=np.int64)) for _, shape, _ in json.loads(spec))
