"""The ``ai4media-ext`` command: list plugins, describe one, reproduce published results."""

from __future__ import annotations

import argparse
import inspect
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__, registry


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*r) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def _cmd_list(args: argparse.Namespace) -> int:
    found = registry.plugins(args.group)
    if not found:
        print("no plugins registered (is ai4media-ext installed with `pip install -e .`?)")
        return 1
    rows = [(p.name, p.group, p.host_base, p.module) for p in found]
    print(_table(rows, ("name", "group", "host base class", "module")))
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    info = registry.find(args.name, args.group)
    cls = registry.load(info.group, info.name)
    doc = inspect.getdoc(cls) or ""
    print(f"name:        {info.name}")
    print(f"group:       {info.group}")
    print(f"class:       {cls.__module__}.{cls.__qualname__}")
    print(f"host base:   {info.host_base}")
    try:
        print(f"signature:   {cls.__name__}{inspect.signature(cls)}")
    except (TypeError, ValueError):
        pass
    if doc:
        print()
        print(doc)
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from .experiments import run_experiments

    available = {p.name: p for p in registry.plugins("ai4media_ext.experiments")}
    names = args.experiments or sorted(available)
    unknown = [n for n in names if n not in available]
    if unknown:
        print(
            f"error: unknown experiment(s) {', '.join(unknown)}; "
            f"available: {', '.join(sorted(available))}",
            file=sys.stderr,
        )
        return 2
    data_root = args.data_root or os.environ.get("AI4MEDIA_EXT_DATA") or None
    if data_root is not None:
        data_root = Path(data_root).expanduser().resolve()
        if not data_root.is_dir():
            print(f"error: --data-root {data_root} is not a directory", file=sys.stderr)
            return 2
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            print("error: --device cuda requested but no CUDA device is available", file=sys.stderr)
            return 2
    bad = [o for o in args.option if "=" not in o or not o.split("=", 1)[0]]
    if bad:
        print(f"error: --option takes KEY=VALUE, got {', '.join(bad)}", file=sys.stderr)
        return 2
    options = dict(o.split("=", 1) for o in args.option)
    experiments = [registry.load("ai4media_ext.experiments", n)() for n in names]
    if data_root is None:
        needing = [e.name for e in experiments if e.needs_data]
        if args.experiments and needing:
            print(
                f"error: {', '.join(needing)} need(s) the offline data: pass --data-root or set "
                "AI4MEDIA_EXT_DATA",
                file=sys.stderr,
            )
            return 2
        for name in needing:
            print(
                f"note: skipping {name}: it needs the offline data (--data-root)", file=sys.stderr
            )
        experiments = [e for e in experiments if not e.needs_data]
    written = run_experiments(
        experiments,
        Path(args.out),
        quick=args.quick,
        data_root=data_root,
        device=args.device,
        seed=args.seed,
        options=options,
    )
    for path in written:
        print(path)
    print(Path(args.out) / "index.html")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ai4media-ext",
        description="AI4Media trustworthy-AI methods as plugins for ART, AIF360, diffprivlib, "
        "Flower, torch-geometric and captum.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p_list = sub.add_parser("list", help="list the registered plugins")
    p_list.add_argument("--group", choices=registry.groups(), help="only this entry-point group")
    p_list.set_defaults(func=_cmd_list)

    p_info = sub.add_parser("info", help="describe one plugin")
    p_info.add_argument(
        "name", help="a plugin name, or group:name where a name is in several groups"
    )
    p_info.add_argument("--group", choices=registry.groups(), help="disambiguate the name")
    p_info.set_defaults(func=_cmd_info)

    p_rep = sub.add_parser("reproduce", help="reproduce published tables and figures")
    p_rep.add_argument("experiments", nargs="*", metavar="EXPERIMENT", help="default: all")
    p_rep.add_argument("--quick", action="store_true", help="reduced setting (minutes on 2 cores)")
    p_rep.add_argument(
        "--data-root",
        help="offline data folder (default: $AI4MEDIA_EXT_DATA, else data shipped in the "
        "pinned dependencies)",
    )
    p_rep.add_argument("--out", default="results", help="output folder (default: ./results)")
    p_rep.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p_rep.add_argument("--seed", type=int, default=0)
    p_rep.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="experiment-specific setting (repeatable), e.g. model=resnet18",
    )
    p_rep.set_defaults(func=_cmd_reproduce)

    p_keys = sub.add_parser(
        "he-keys",
        help="provision CKKS keys for HEFedAvg: DIR/client_context.bin (secret, clients only) "
        "and DIR/server_context.bin (public, the server)",
    )
    p_keys.add_argument("directory")
    p_keys.add_argument("--force", action="store_true", help="replace existing keys")
    p_keys.set_defaults(func=_cmd_he_keys)
    return parser


def _cmd_he_keys(args: argparse.Namespace) -> int:
    from .privacy.federated import provision

    target = Path(args.directory)
    existing = [p for p in ("client_context.bin", "server_context.bin") if (target / p).exists()]
    if existing and not args.force:
        print(f"error: {target} already holds {', '.join(existing)} (use --force)", file=sys.stderr)
        return 2
    files = provision(target)
    print(f"secret (clients only): {files.client_context}")
    print(f"public (server):       {files.server_context}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (registry.PluginNotFoundError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `ai4media-ext info NAME | head`: the reader left, not an error
        import os  # noqa: PLC0415

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # keep the interpreter's final flush quiet
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
