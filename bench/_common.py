"""Shared by the bench scripts: load the config to measure (the shipped one by default)."""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from wirewatch.transforms.config import load_config  # noqa: E402


def shipped_config(ner: bool = False, extra_yaml: str = ""):
    """The shipped taxonomy and gazetteer (configs/taxonomy, configs/entities) as a Config.

    Written as a throwaway main file that includes them, so the bench measures exactly what
    `load_config` gives the pipeline (validation and cross-checks included).
    """
    configs = ROOT / "configs"
    text = f"include:\n  - {configs}/taxonomy/*.yaml\n  - {configs}/entities/*.yaml\n" + extra_yaml
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        handle.write(text)
    try:
        config = load_config(handle.name)
    finally:
        os.unlink(handle.name)
    if ner:
        from wirewatch.transforms.tagging.schema import NerSettings, TaggingSettings

        settings = getattr(config, "tagging", None) or TaggingSettings()
        settings = settings.model_copy(update={"ner": NerSettings(enabled=True)})
        object.__setattr__(config, "tagging", settings)
    return config


def config_from_args(path: str | None, ner: bool = False):
    if path:
        config = load_config(path)
        if ner:
            from wirewatch.transforms.tagging.schema import NerSettings, TaggingSettings

            settings = getattr(config, "tagging", None) or TaggingSettings()
            object.__setattr__(
                config, "tagging", settings.model_copy(update={"ner": NerSettings(enabled=True)})
            )
        return config
    return shipped_config(ner=ner)


def shim(checkout: Path) -> Path:
    """A folder whose `wirewatch/` maps the import names to `checkout`'s folders, ahead of
    this venv's editable install on sys.path."""
    name = hashlib.sha256(str(checkout.resolve()).encode()).hexdigest()[:16]  # not hash(): per run
    folder = Path(tempfile.gettempdir()) / f"wirewatch-bench-shim-{name}"
    package = folder / "wirewatch"
    package.mkdir(parents=True, exist_ok=True)
    for name in ("configs", "pipelines", "transforms"):
        link = package / name
        if not link.exists():
            link.symlink_to(checkout.resolve() / name)
    return folder
