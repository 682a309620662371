from pathlib import Path

import pytest

from harness.errors import RsbenchError
from harness.execution.storage import CheckpointStorage


def _checkpoint(root: Path, relative: str) -> Path:
    folder = root / relative
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"a": 1}', encoding="utf-8")
    (folder / "model.safetensors").write_bytes(b"weights")
    return folder


def test_output_folder_storage_checks_local_file(tmp_path):
    storage = CheckpointStorage(tmp_path)
    assert storage.is_output_folder
    assert not storage.has_checkpoint("checkpoints/k")
    _checkpoint(tmp_path, "checkpoints/k")
    assert storage.has_checkpoint("checkpoints/k")
    assert storage.download("checkpoints/k", tmp_path / "elsewhere") == tmp_path / "elsewhere" / "checkpoints/k"


def test_url_storage_round_trip(tmp_path):
    storage = CheckpointStorage(tmp_path / "out", f"file://{tmp_path / 'shared'}")
    staging = tmp_path / "staging-a"
    _checkpoint(staging, "checkpoints/k")
    assert not storage.has_checkpoint("checkpoints/k")
    storage.upload(staging, "checkpoints/k")
    assert storage.has_checkpoint("checkpoints/k")
    assert (tmp_path / "shared" / "checkpoints" / "k" / "model.safetensors").read_bytes() == b"weights"

    other = tmp_path / "staging-b"
    folder = storage.download("checkpoints/k", other)
    assert folder == other / "checkpoints" / "k"
    assert (folder / "config.json").read_text(encoding="utf-8") == '{"a": 1}'
    assert (folder / "model.safetensors").read_bytes() == b"weights"
    assert not (other / "checkpoints" / "k.partial").exists()


def test_url_storage_missing_checkpoint(tmp_path):
    storage = CheckpointStorage(tmp_path / "out", f"file://{tmp_path / 'shared'}")
    with pytest.raises(FileNotFoundError, match="checkpoints/gone is missing; rerun to train it again"):
        storage.download("checkpoints/gone", tmp_path / "staging")


def test_url_storage_replaces_partial_download(tmp_path):
    storage = CheckpointStorage(tmp_path / "out", f"file://{tmp_path / 'shared'}")
    _checkpoint(tmp_path / "source", "checkpoints/k")
    storage.upload(tmp_path / "source", "checkpoints/k")
    stale = tmp_path / "staging" / "checkpoints" / "k"
    stale.mkdir(parents=True)
    (stale / "config.json").write_text("truncated", encoding="utf-8")
    folder = storage.download("checkpoints/k", tmp_path / "staging")
    assert (folder / "config.json").read_text(encoding="utf-8") == '{"a": 1}'


def test_unreachable_storage_named(tmp_path):
    # zip:// opens its target as an archive, and the current folder is not one.
    storage = CheckpointStorage(tmp_path, "zip://x")
    with pytest.raises(RsbenchError) as caught:
        storage.check_reachable()
    message = str(caught.value)
    assert message.startswith("executor.storage 'zip://x': cannot reach the checkpoint storage (IsADirectoryError: ")
    assert message.endswith("Give a folder or an fsspec URL of a folder that the driver and every worker can write.")


def test_reachable_storage_passes(tmp_path):
    CheckpointStorage(tmp_path, f"file://{tmp_path}/store").check_reachable()
    CheckpointStorage(tmp_path).check_reachable()
