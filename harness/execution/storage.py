"""Checkpoint storage that every worker of a run reaches: the output folder or an fsspec URL.

The store keeps each checkpoint as a path relative to the output folder
(``checkpoints/<unit key>``). With a storage URL the same relative path is resolved under
the URL instead, and workers copy checkpoints between the URL and a local staging folder,
because models are saved and loaded from local files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from harness.errors import RsbenchError

MODEL_FILE = "model.safetensors"


class CheckpointStorage:
    """Checkpoint location: ``out_dir`` itself when ``url`` is None, else the fsspec URL ``url``."""

    def __init__(self, out_dir: Path, url: str | None = None):
        self.out_dir = Path(out_dir).resolve()
        self.url = url
        self._fs = None
        self._root = ""

    @property
    def is_output_folder(self) -> bool:
        return self.url is None

    def _filesystem(self):
        if self._fs is None:
            import fsspec

            try:
                self._fs, self._root = fsspec.core.url_to_fs(self.url)
            except ImportError as exc:
                raise RsbenchError(
                    f"executor.storage {self.url!r}: its file system needs a package that is not installed ({exc}). "
                    "Install it on the driver and on every worker, e.g. `pip install s3fs` for s3:// URLs."
                ) from None
            self._root = self._root.rstrip("/")
        return self._fs

    def _remote(self, relative: str) -> str:
        self._filesystem()
        return f"{self._root}/{relative}"

    def check_reachable(self) -> None:
        """Look up a path in the storage, so that a bad URL fails before any unit runs.

        Raises:
            RsbenchError: naming the URL, when its file system is missing or the lookup fails
                (unreachable host, refused login, a URL that is not a folder).
        """
        if self.is_output_folder:
            return
        try:
            self.has_checkpoint("checkpoints/probe")
        except (OSError, ValueError) as exc:
            raise RsbenchError(
                f"executor.storage {self.url!r}: cannot reach the checkpoint storage ({type(exc).__name__}: {exc}). "
                "Give a folder or an fsspec URL of a folder that the driver and every worker can write."
            ) from None

    def has_checkpoint(self, relative: str | Path) -> bool:
        """Tell whether the checkpoint at ``relative`` has its weights file."""
        relative = Path(relative).as_posix()
        if self.is_output_folder:
            return (self.out_dir / relative / MODEL_FILE).is_file()
        return self._filesystem().exists(self._remote(f"{relative}/{MODEL_FILE}"))

    def upload(self, local_root: Path, relative: str | Path) -> None:
        """Copy ``local_root/relative`` to the storage, weights file last, so its presence marks a complete copy."""
        if self.is_output_folder:
            return
        relative = Path(relative).as_posix()
        fs = self._filesystem()
        target = self._remote(relative)
        fs.makedirs(target, exist_ok=True)
        files = sorted((local_root / relative).iterdir(), key=lambda file: file.name == MODEL_FILE)
        for file in files:
            fs.put_file(str(file), f"{target}/{file.name}")

    def download(self, relative: str | Path, local_root: Path) -> Path:
        """Copy the checkpoint at ``relative`` into ``local_root/relative`` unless it is there; return that folder."""
        relative = Path(relative).as_posix()
        local = local_root / relative
        if self.is_output_folder or (local / MODEL_FILE).is_file():
            return local
        fs = self._filesystem()
        source = self._remote(relative)
        if not fs.exists(f"{source}/{MODEL_FILE}"):
            raise FileNotFoundError(f"checkpoint {self.url}/{relative} is missing; rerun to train it again")
        partial = local.with_name(local.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for path in fs.ls(source, detail=False):
            fs.get_file(path, str(partial / Path(path).name))
        shutil.rmtree(local, ignore_errors=True)
        partial.rename(local)
        return local
