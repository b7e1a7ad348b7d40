"""Generated worlds kept on disk, keyed by scale, seed and the generator's own source.

Building the `large` world takes a while; benchmarks and demos reuse it. The key
includes a digest of this package's code, so a changed generator never serves a stale world,
and of pandas' version and string storage, which decide how the pickled frames come back.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import pandas as pd

from simulators.world.build import PROFILES, generate_world
from simulators.world.model import World


def _key_digest() -> str:
    here = Path(__file__).parent
    h = hashlib.sha256(f"{pd.__version__} {pd.get_option('mode.string_storage')}".encode())
    for path in sorted(here.glob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def load_world(scale: str, seed: int, cache_dir: Path | None, profile: str = "contract") -> World:
    quirks = PROFILES[profile]
    if cache_dir is None:
        return generate_world(scale, seed, quirks)
    name = f"{scale}-{seed}" if profile == "contract" else f"{scale}-{seed}-{profile}"
    path = cache_dir / f"world-{name}-{_key_digest()}.pkl"
    if path.exists():
        with path.open("rb") as f:
            return pickle.load(f)
    world = generate_world(scale, seed, quirks)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        pickle.dump(world, f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    return world
