"""ONNX export of the modules the torch door added in issue 14: each exported model runs in
onnxruntime and gives nerve's numbers, at two batch sizes."""

import numpy as np
import pytest

import nerve
from nerve import nn

# ----------------------------------------------------------------------------- ONNX export
ONNX_CASES = {
    "hardtanh": (lambda: nn.Hardtanh(-0.5, 2.0), (3, 5)),
    "relu6": (nn.ReLU6, (3, 5)),
    "hardsigmoid": (nn.Hardsigmoid, (3, 5)),
    "hardswish": (nn.Hardswish, (3, 5)),
    "mish": (nn.Mish, (3, 5)),
    "softsign": (nn.Softsign, (3, 5)),
    "tanhshrink": (nn.Tanhshrink, (3, 5)),
    "softshrink": (lambda: nn.Softshrink(0.3), (3, 5)),
    "hardshrink": (lambda: nn.Hardshrink(0.7), (3, 5)),
    "threshold": (lambda: nn.Threshold(0.1, -2.0), (3, 5)),
    "logsigmoid": (nn.LogSigmoid, (3, 5)),
    "celu": (lambda: nn.CELU(0.6), (3, 5)),
    "softmin": (lambda: nn.Softmin(-1), (3, 5)),
    "softmax2d": (nn.Softmax2d, (3, 4, 5)),
    "prelu": (lambda: nn.PReLU(3, 0.1), (3, 4, 5)),
    "prelu_one": (nn.PReLU, (3, 5)),
    "pixel_shuffle": (lambda: nn.PixelShuffle(2), (8, 3, 4)),
    "glu": (nn.GLU, (3, 6)),
    "zeropad2d": (lambda: nn.ZeroPad2d((1, 2, 0, 3)), (2, 4, 5)),
    "constantpad1d": (lambda: nn.ConstantPad1d(2, 3.5), (2, 4)),
    "reflectionpad2d": (lambda: nn.ReflectionPad2d(2), (2, 4, 5)),
    "replicationpad1d": (lambda: nn.ReplicationPad1d((1, 3)), (2, 4)),
    "feature_alpha_dropout": (lambda: nn.FeatureAlphaDropout(0.3), (2, 4)),
    "maxpool1d": (lambda: nn.MaxPool1d(3, 2, 1), (3, 9)),
    "avgpool1d": (lambda: nn.AvgPool1d(2), (3, 8)),
    "adaptive_avgpool1d": (lambda: nn.AdaptiveAvgPool1d(4), (3, 8)),
    "conv_transpose1d": (lambda: nn.ConvTranspose1d(3, 2, 3, stride=2, padding=1), (3, 6)),
    "batchnorm3d": (lambda: nn.BatchNorm3d(2), (2, 3, 2, 2)),
    "instancenorm1d": (lambda: nn.InstanceNorm1d(3, affine=True), (3, 7)),
    "instancenorm2d": (lambda: nn.InstanceNorm2d(3), (3, 4, 5)),
    "instancenorm2d_running": (
        lambda: nn.InstanceNorm2d(3, track_running_stats=True),
        (3, 4, 5),
    ),
    "glu_dim1": (lambda: nn.GLU(1), (4, 5)),
    "upsample_nearest": (lambda: nn.Upsample(scale_factor=2), (3, 4, 5)),
    "upsample_nearest_size": (lambda: nn.Upsample(size=(7, 3)), (3, 4, 5)),
    "upsample_nearest_1d": (lambda: nn.Upsample(scale_factor=1.5), (3, 5)),
    "upsample_bilinear": (lambda: nn.Upsample(scale_factor=2, mode="bilinear"), (3, 4, 5)),
    "upsample_bilinear_corners": (
        lambda: nn.Upsample(size=(6, 9), mode="bilinear", align_corners=True),
        (2, 4, 5),
    ),
    "upsampling_bilinear2d": (lambda: nn.UpsamplingBilinear2d(scale_factor=3), (2, 3, 3)),
    "upsample_trilinear": (lambda: nn.Upsample(scale_factor=2, mode="trilinear"), (2, 3, 2, 4)),
    "upsample_area": (lambda: nn.Upsample(size=(3, 2), mode="area"), (2, 7, 5)),
    "dropouts": (
        lambda: nn.Sequential(nn.Dropout2d(0.3), nn.Dropout1d(0.2), nn.AlphaDropout(0.1)).eval(),
        (3, 4),
    ),
}


@pytest.mark.parametrize("case", sorted(ONNX_CASES))
def test_onnx_export_of_new_modules_runs_in_onnxruntime(tmp_path, case):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from nerve.onnx import export

    build, shape = ONNX_CASES[case]
    model = build().eval()
    rng = np.random.default_rng(0)

    def make(n):
        return (rng.standard_normal((n, *shape)) * 3).astype(np.float32)

    path = str(tmp_path / "m.onnx")
    export(model, make(2), path)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    for n in (2, 5):
        x = make(n)
        (got,) = session.run(None, {session.get_inputs()[0].name: x})
        with nerve.no_grad():
            want = model(nerve.tensor(x)).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
