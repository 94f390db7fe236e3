"""Training: LM loss plus the diversity loss back-propagates into the trainable parts only, and
one optimiser step lowers the loss on the same batch."""

from __future__ import annotations

import torch

from reference_models.video_salmonn import apply_overrides, build_model, diversity_loss, get_preset
from tests.reference_models.conftest import make_sample


def test_diversity_loss_is_mean_off_diagonal_cosine() -> None:
    same = torch.ones(2, 4, 8)
    assert torch.isclose(diversity_loss(same), torch.tensor(1.0))
    orthogonal = torch.eye(4).expand(3, 4, 4)
    assert torch.isclose(diversity_loss(orthogonal), torch.tensor(0.0))
    opposite = torch.tensor([[[1.0, 0.0], [-1.0, 0.0]]])
    assert torch.isclose(diversity_loss(opposite), torch.tensor(-1.0))


def test_one_training_step() -> None:
    cfg = apply_overrides(get_preset("tiny"), {"diversity_loss": True, "diversity_loss_factor": 0.5})
    model, _ = build_model(cfg)
    model.freeze_for_training()
    samples = [
        make_sample(30, 6.0, answer="a dog barks"),
        make_sample(31, 4.0, audio=False, answer="nothing"),
    ]
    model.train()
    assert torch.isfinite(model(samples).loss)  # with dropout
    model.zero_grad()
    model.eval()  # no dropout from here, so the loss comparison measures the step alone
    out = model(samples)
    assert torch.isclose(out.loss, out.lm_loss + 0.5 * out.diversity_loss)
    out.loss.backward()
    trainable = dict(model.trainable_parameters())
    assert any(name.startswith("sync.qformer.") for name in trainable)
    assert any(".lora_A." in name for name in trainable)
    for name, param in model.named_parameters():
        if name in trainable:
            assert param.grad is not None, name
        else:
            assert param.grad is None, name
    assert model.llm.model.layers[0].self_attn.q_proj.lora_B.weight.grad.abs().sum() > 0
    torch.optim.SGD(list(trainable.values()), lr=0.05).step()
    with torch.no_grad():
        after = model(samples).loss
    assert after < out.loss.detach()
