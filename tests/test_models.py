import pytest
import torch

from harness.errors import RsbenchError
from harness.models import load_checkpoint, load_classifier, save_checkpoint
from harness.suite import ModelSpec

LABELS = ("neg", "pos")
TINY = {"num_hidden_layers": 4, "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64}


def _random_model(seed: int = 0):
    return load_classifier(ModelSpec(source="random", architecture=TINY), LABELS, seed=seed)


def test_random_model_is_seeded():
    first, _ = _random_model(seed=1)
    second, _ = _random_model(seed=1)
    third, _ = _random_model(seed=2)
    weight = "bert.encoder.layer.0.attention.self.query.weight"
    assert torch.equal(first.state_dict()[weight], second.state_dict()[weight])
    assert not torch.equal(first.state_dict()[weight], third.state_dict()[weight])
    assert first.config.id2label == {0: "neg", 1: "pos"}


def test_checkpoint_round_trip_is_safetensors(tmp_path):
    model, tokenizer = _random_model()
    folder = tmp_path / "ckpt"
    save_checkpoint(model, tokenizer, folder)
    assert (folder / "model.safetensors").is_file()
    assert not list(folder.glob("*.bin"))
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]
    loaded, _ = load_checkpoint(folder)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name]), name


def test_local_source_with_student_layers(tmp_path):
    model, tokenizer = _random_model()
    folder = tmp_path / "local"
    save_checkpoint(model, tokenizer, folder)
    student, _ = load_classifier(ModelSpec(source="local", path=folder, keep_layers="every-other"), LABELS, seed=0)
    assert student.config.num_hidden_layers == 2
    kept = student.state_dict()["bert.encoder.layer.1.attention.self.query.weight"]
    assert torch.equal(kept, model.state_dict()["bert.encoder.layer.2.attention.self.query.weight"])


def test_pickle_only_checkpoint_rejected(tmp_path):
    model, tokenizer = _random_model()
    folder = tmp_path / "pickled"
    model.save_pretrained(folder, safe_serialization=False)
    tokenizer.save_pretrained(folder)
    assert (folder / "pytorch_model.bin").is_file()
    with pytest.raises(RsbenchError, match="only safetensors weights are accepted"):
        load_classifier(ModelSpec(source="local", path=folder), LABELS, seed=0)
    with pytest.raises(RsbenchError, match="no model.safetensors"):
        load_checkpoint(folder)
