"""CKKS key handling and packing of model arrays into as few ciphertexts as the slots allow."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..._compat import require
from ..._io import write_bytes_atomic

require("tenseal", "fl")

import tenseal as ts  # noqa: E402

#: Additions-only aggregation needs one data prime and the special prime: N = 4096 with
#: 60 + 49 bits (= the 109 bits allowed for 128-bit security at N = 4096, HE standard), scale
#: 2^40, leaving 2^19 of integer headroom for the weighted sums. Measured here: 8.05x the float32
#: bytes (TenSEAL's default 8192 / [60, 40, 40, 60] gives 20.7x) at ~2.5e-8 relative error (10 clients, measured by he-size).
DEFAULT_PARAMS = {"poly_modulus_degree": 4096, "coeff_mod_bit_sizes": (60, 49), "scale_bits": 40}
#: Largest total coefficient-modulus bits for 128-bit classical security (HomomorphicEncryption.org).
MAX_BITS_128 = {1024: 27, 2048: 54, 4096: 109, 8192: 218, 16384: 438, 32768: 881}


#: Record and key names of the wire format shared by ``HEFedAvg`` and the client mod.
HE_RECORD = "he"
META_KEY = "he-meta"
CHUNK_PREFIX = "he-chunk-"
WEIGHT_UNIT_KEY = "he-weight-unit"
KEY_ID_KEY = "he-key-id"
VALUE_BOUND_KEY = "he-value-bound"


class HEError(ValueError):
    """A ciphertext or context that cannot be used (malformed, wrong keys, wrong shape)."""


def make_context(
    poly_modulus_degree: int = 4096,
    coeff_mod_bit_sizes: tuple[int, ...] = (60, 49),
    scale_bits: int = 40,
) -> Any:
    """A fresh CKKS context with a secret key, checked for 128-bit security.

    Parameters
    ----------
    poly_modulus_degree : int
        N, a power of two in 1024..32768; N / 2 slots per ciphertext.
    coeff_mod_bit_sizes : tuple of int
        Bit sizes of the coefficient-modulus primes (the last is SEAL's special prime); their
        sum may not exceed the HomomorphicEncryption.org bound for 128-bit security at N
        (:data:`MAX_BITS_128`).
    scale_bits : int
        log2 of the encoding scale, below the first prime's bits.

    Returns
    -------
    tenseal.Context
        CKKS, secret key included, ``global_scale = 2**scale_bits``.

    Raises
    ------
    ValueError
        An unsupported N, more modulus bits than 128-bit security allows, a bad scale.
    """
    if poly_modulus_degree not in MAX_BITS_128:
        raise ValueError(
            f"poly_modulus_degree must be one of {sorted(MAX_BITS_128)}, got {poly_modulus_degree}"
        )
    total = sum(coeff_mod_bit_sizes)
    if total > MAX_BITS_128[poly_modulus_degree]:
        raise ValueError(
            f"coeff_mod_bit_sizes sum to {total} bits, above the "
            f"{MAX_BITS_128[poly_modulus_degree]} allowed for 128-bit security at N = {poly_modulus_degree}"
        )
    if not 0 < scale_bits < coeff_mod_bit_sizes[0]:
        raise ValueError(f"scale_bits must be in (0, {coeff_mod_bit_sizes[0]}), got {scale_bits}")
    ctx = ts.context(
        ts.SCHEME_TYPE.CKKS,
        poly_modulus_degree=poly_modulus_degree,
        coeff_mod_bit_sizes=list(coeff_mod_bit_sizes),
    )
    ctx.global_scale = 2.0**scale_bits
    return ctx


def public_bytes(secret_context: Any) -> bytes:
    """The server's context: public key only (``make_context_public`` drops the secret key)."""
    pub = secret_context.copy()
    pub.make_context_public()
    return pub.serialize()


def key_id(context: Any) -> str:
    """Identifier of a key pair, equal on the clients' secret context and the server's public
    one: a hash of the context serialised with its public key only (that serialisation is
    deterministic, unlike ``make_context_public`` + ``serialize``)."""
    if isinstance(context, bytes | bytearray):
        context = load_context(bytes(context))
    only_public = context.serialize(
        save_public_key=True, save_secret_key=False, save_galois_keys=False, save_relin_keys=False
    )
    return hashlib.sha256(only_public).hexdigest()[:16]


def load_context(data: bytes, *, expect_secret: bool | None = None) -> Any:
    """A TenSEAL context from its serialised bytes.

    Raises
    ------
    HEError
        Not a TenSEAL context; no secret key where ``expect_secret`` is true; a secret key
        where it is false.
    """
    try:
        ctx = ts.context_from(data)
    except Exception as exc:  # TenSEAL raises plain exceptions on bad bytes
        raise HEError(f"not a TenSEAL context ({exc})") from exc
    if expect_secret is True and not ctx.is_private():
        raise HEError("this context has no secret key; clients need the secret (client) context")
    if expect_secret is False and ctx.is_private():
        raise HEError("the server context must not hold the secret key")
    return ctx


@dataclass(frozen=True)
class Provisioned:
    client_context: Path  # secret key: clients only
    server_context: Path  # public: the server


def provision(directory: str | os.PathLike[str], **params: Any) -> Provisioned:
    """Generate a key pair and write ``client_context.bin`` (secret key, mode 0600) and
    ``server_context.bin`` (public key only), each atomically."""
    ctx = make_context(**{**DEFAULT_PARAMS, **params})
    directory = Path(directory)
    secret = write_bytes_atomic(
        directory / "client_context.bin", ctx.serialize(save_secret_key=True), mode=0o600
    )
    public = write_bytes_atomic(directory / "server_context.bin", public_bytes(ctx))
    return Provisioned(secret, public)


def headroom(ctx: Any) -> float:
    """Largest |slot value| whose encoding is guaranteed to decode exactly, in plain units.

    A CKKS coefficient is an average of the slot values times the scale, so it stays below
    ``max |slot| * scale``; decoding is exact while that is below half the ciphertext modulus q
    (the data primes, without the special prime): ``headroom = 2^(log2 q - 1) / scale``, less
    a 2^-10 margin for the encoding rounding and the encryption noise. 2^19 (524,288, less the
    margin) for the default parameters. The bound must hold for a SUM of ciphertexts as well
    (``HEFedAvg`` checks it before adding).
    """
    bits = ctx.data.seal_context().first_context_data().total_coeff_modulus_bit_count()
    return 2.0 ** (bits - 1) / ctx.global_scale * (1.0 - 2.0**-10)


def sum_ciphertexts(vectors: list[list[Any]]) -> list[Any]:
    """Chunk-wise sum of several clients' loaded CKKS vectors (in place into the first's)."""
    total = vectors[0]
    for client in vectors[1:]:
        for acc, v in zip(total, client, strict=True):
            acc += v
    return total


def structure(arrays: list[tuple[str, np.ndarray]]) -> str:
    """JSON description (names, shapes, dtypes) to rebuild flattened arrays."""
    return json.dumps([[k, list(a.shape), str(a.dtype)] for k, a in arrays])


def unflatten(flat: np.ndarray, spec: str) -> list[tuple[str, np.ndarray]]:
    """The arrays of :func:`structure`, each with its exact shape (0-d included) and dtype;
    integer and bool arrays (e.g. BatchNorm's ``num_batches_tracked``) are rounded, not
    truncated, from the decrypted floats."""
    out, start = [], 0
    for name, shape, dtype in json.loads(spec):
        size = int(np.prod(shape, dtype=np.int64))
        part = flat[start : start + size].reshape(shape)
        kind = np.dtype(dtype).kind
        if kind in "iub":
            part = np.rint(part)
        out.append((name, np.array(part, dtype=dtype, order="C")))
        start += size
    if start != len(flat):
        raise HEError(f"aggregate has {len(flat)} values, the structure needs {start}")
    return out


def encrypt(ctx: Any, flat: np.ndarray) -> list[bytes]:
    """Encrypt a flat float vector as ceil(len / slots) serialised CKKS vectors (slots = N / 2).

    Raises
    ------
    HEError
        A NaN/inf value, or a value beyond the context's headroom (TenSEAL refuses to encode).
    """
    if not np.isfinite(flat).all():
        raise HEError("the update holds non-finite values (NaN/inf): refusing to encrypt it")
    slots = slot_count(ctx)
    try:
        return [
            ts.ckks_vector(ctx, flat[i : i + slots].tolist()).serialize()
            for i in range(0, len(flat), slots)
        ]
    except ValueError as exc:  # TenSEAL: "encoded values are too large"
        raise HEError(
            f"max |value| {np.abs(flat).max():.3g} exceeds the CKKS headroom of this context "
            f"({exc}); the weights may have diverged, or raise HEFedAvg's weight_unit"
        ) from exc


def add_encrypted(ctx: Any, clients: list[list[bytes]]) -> list[bytes]:
    """Chunk-wise sum of several clients' serialised ciphertexts, with any context (the public
    one suffices): the aggregation without HEFedAvg's per-reply checks, for measurements."""
    loaded = [[ts.ckks_vector_from(ctx, b) for b in client] for client in clients]
    return [t.serialize() for t in sum_ciphertexts(loaded)]


def decrypt(ctx: Any, chunks: list[bytes]) -> np.ndarray:
    """The float64 values of serialised CKKS vectors, concatenated (needs the secret key)."""
    return np.concatenate([np.asarray(ts.ckks_vector_from(ctx, c).decrypt()) for c in chunks])


def slot_count(ctx: Any) -> int:
    """CKKS slots per ciphertext, N / 2 (read from the underlying SEAL parameters)."""
    return ctx.data.seal_context().first_context_data().parms().poly_modulus_degree() // 2
