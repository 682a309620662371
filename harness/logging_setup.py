"""The one logging setup of the command line: stdlib logging, level from an option or RSBENCH_LOG_LEVEL."""

from __future__ import annotations

import logging
import os

_NOISY = ("transformers", "datasets", "urllib3", "filelock", "matplotlib", "textattack", "huggingface_hub", "httpx")


def setup_logging(level: str | None = None) -> None:
    chosen = (level or os.environ.get("RSBENCH_LOG_LEVEL") or "INFO").upper()
    logging.basicConfig(level=chosen, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    for name in _NOISY:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
