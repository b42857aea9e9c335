"""Our trained architectures: any input size, exact output size, and a weights file that rebuilds the network
through spandrel (so the torch form, tiling and ONNX export treat them like every other network)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from studio.models.archs import load_spandrel
from studio.models.archs.baselines import ARCH_CODES, build, from_state_dict, hyper_defaults

CASES = [("espcn", 2), ("espcn", 3), ("espcn", 4), ("dae", 1), ("deblurnet", 1), ("dmcnn", 1), ("dncnn", 1)]


@pytest.mark.parametrize(("arch", "scale"), CASES)
def test_any_size_in_exactly_scale_times_out(arch, scale):
    torch.manual_seed(0)
    model = build(arch, scale=scale).eval()
    with torch.inference_mode():
        for height, width in ((17, 23), (32, 32), (5, 41)):
            assert model(torch.rand(1, 3, height, width)).shape == (1, 3, height * scale, width * scale)


@pytest.mark.parametrize(("arch", "scale"), CASES)
def test_spandrel_rebuilds_the_network_from_its_state_dict(arch, scale):
    torch.manual_seed(1)
    model = build(arch, scale=scale).eval()
    descriptor = load_spandrel(model.state_dict())
    assert descriptor.architecture.id == "studio-trained"
    assert descriptor.scale == scale
    assert descriptor.tags == [arch]
    x = torch.rand(1, 3, 24, 20)
    with torch.inference_mode():
        assert torch.equal(descriptor.model.eval()(x), model(x))


def test_sizes_are_for_a_cpu():
    """Tens to hundreds of thousands of parameters, each well under the 5 MB a shipped file may weigh."""
    for arch, scale in CASES:
        parameters = sum(p.numel() for p in build(arch, scale=scale).parameters())
        assert 10_000 < parameters < 1_000_000, (arch, parameters)


def test_hyper_parameters_travel_with_the_weights():
    model = build("dncnn", features=16, depth=5)
    rebuilt = from_state_dict(model.state_dict())
    assert sum(p.numel() for p in rebuilt.parameters()) == sum(p.numel() for p in model.parameters())
    assert len([m for m in rebuilt.body if isinstance(m, torch.nn.Conv2d)]) == 5


def test_unknown_codes_and_wrong_scales_are_refused():
    state = build("dae").state_dict()
    state["studio_arch"] = torch.tensor(99)
    with pytest.raises(ValueError, match="99"):
        from_state_dict(state)
    with pytest.raises(ValueError, match="scale-1"):
        build("dmcnn", scale=2)
    with pytest.raises(ValueError, match="x8"):
        build("espcn", scale=8)
    assert set(ARCH_CODES) == {"espcn", "dae", "deblurnet", "dmcnn", "dncnn"}


def test_dynamic_convolution_keeps_a_flat_image_flat():
    """The per-pixel kernels are normalised to sum to one: a flat grey stays that grey whatever the weights."""
    torch.manual_seed(2)
    model = build("dmcnn").eval()
    torch.nn.init.zeros_(model.residual.weight)
    torch.nn.init.zeros_(model.residual.bias)
    flat = torch.full((1, 3, 32, 32), 0.4)
    with torch.inference_mode():
        np.testing.assert_allclose(model(flat).numpy(), 0.4, atol=1e-5)


def test_a_deeper_espcn_keeps_the_papers_layout_and_its_old_files():
    """depth/relu are stored only when set: the paper's three tanh layers have the keys they always had (so
    weights saved before load unchanged), and a deeper ReLU stack travels with its weights."""
    plain = build("espcn", scale=4)
    assert not any(key in plain.state_dict() for key in ("hyper_depth", "hyper_relu"))
    assert [type(m).__name__ for m in plain.body] == ["Conv2d", "Tanh", "Conv2d", "Tanh", "Conv2d"]
    deep = build("espcn", scale=4, depth=3, relu=1).eval()
    assert [type(m).__name__ for m in deep.body].count("Conv2d") == 6 and isinstance(deep.body[1], torch.nn.ReLU)
    rebuilt = from_state_dict(deep.state_dict()).eval()
    x = torch.rand(1, 3, 13, 9)
    with torch.inference_mode():
        assert torch.equal(rebuilt(x), deep(x))
    assert hyper_defaults("espcn") == {"features": 64, "depth": 0, "relu": 0}
    assert hyper_defaults("dncnn") == {"features": 48, "depth": 10}
