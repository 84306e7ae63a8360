# Exporting a model with its own forward() to ONNX (the TorchScript-tracing exporter, opset 17,
# named inputs/outputs, a dynamic batch axis) and running the file with onnxruntime on a batch
# size other than the dummy's.
# compat: rtol=1e-4 atol=1e-5
import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn


class GatedScorer(nn.Module):
    def __init__(self):
        super().__init__()
        self.value = nn.Linear(6, 8)
        self.gate = nn.Linear(6, 8)
        self.norm = nn.LayerNorm(8)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        x = torch.flatten(x, 1)
        h = torch.relu(self.value(x)) * torch.sigmoid(self.gate(x))
        h = self.norm(h + x.mean(dim=1, keepdim=True))
        scores = self.head(h)
        return torch.softmax(scores, dim=-1), scores.max(dim=-1, keepdim=True).values


rng = np.random.default_rng(31)
model = GatedScorer()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.5, size=tuple(p.shape)).astype(np.float32)))
model.eval()

dummy = torch.randn(1, 2, 3)
torch.onnx.export(
    model,
    dummy,
    "model.onnx",
    input_names=["features"],
    output_names=["probs", "best"],
    dynamic_axes={"features": {0: "batch"}, "probs": {0: "batch"}, "best": {0: "batch"}},
    opset_version=17,
    dynamo=False,
)

onnx_model = onnx.load("model.onnx")
onnx.checker.check_model(onnx_model)
RESULTS["opset"] = max(o.version for o in onnx_model.opset_import if o.domain in ("", "ai.onnx"))
RESULTS["graph_inputs"] = " ".join(i.name for i in onnx_model.graph.input)
RESULTS["graph_outputs"] = " ".join(o.name for o in onnx_model.graph.output)
batch_dim = onnx_model.graph.input[0].type.tensor_type.shape.dim[0]
RESULTS["batch_dim_is_symbolic"] = str(
    batch_dim.dim_param != "" and not batch_dim.HasField("dim_value")
)

session = ort.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])
RESULTS["session_io"] = (
    f"{[i.name for i in session.get_inputs()]} {[o.name for o in session.get_outputs()]}"
)
batch = rng.normal(size=(5, 2, 3)).astype(np.float32)
probs, best = session.run(None, {"features": batch})
RESULTS["ort_probs"] = probs
RESULTS["ort_best"] = best
with torch.no_grad():
    want_probs, want_best = model(torch.from_numpy(batch))
RESULTS["ort_matches_model"] = str(
    bool(
        np.allclose(probs, want_probs.numpy(), atol=1e-5)
        and np.allclose(best, want_best.numpy(), atol=1e-5)
    )
)
