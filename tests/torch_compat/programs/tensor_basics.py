# The tensor tour every tutorial starts with: creation, attributes, indexing and slicing, joining,
# arithmetic and matrix products, reductions, in-place ops, the NumPy bridge (shared memory both
# ways), views, and type conversion.
import numpy as np
import torch

data = [[1, 2], [3, 4]]
x_data = torch.tensor(data)
np_array = np.array(data)
x_np = torch.from_numpy(np_array)
x_ones = torch.ones_like(x_data)
x_zeros = torch.zeros_like(x_data, dtype=torch.float)
RESULTS["from_list"] = f"{tuple(x_data.shape)} {x_data.dtype == torch.int64} {x_data.tolist()}"
RESULTS["from_numpy"] = str(x_np.tolist())
RESULTS["like"] = f"{x_ones.tolist()} {x_zeros.dtype == torch.float32}"

shape = (2, 3)
ones, zeros = torch.ones(shape), torch.zeros(shape)
RESULTS["full"] = torch.full((2, 2), 7.5).numpy()
RESULTS["arange"] = torch.arange(1, 10, 2).numpy()
RESULTS["eye"] = torch.eye(3).numpy()
RESULTS["attributes"] = f"{tuple(ones.shape)} {ones.size() == (2, 3)} {ones.dim()} {ones.numel()}"

tensor = torch.arange(16, dtype=torch.float32).reshape(4, 4)
RESULTS["first_row"] = tensor[0].numpy()
RESULTS["first_col"] = tensor[:, 0].numpy()
RESULTS["last_col"] = tensor[..., -1].numpy()
RESULTS["strided"] = tensor[::2, 1::2].numpy()
RESULTS["masked"] = tensor[tensor > 9].numpy()
RESULTS["fancy"] = tensor[[0, 2], [1, 3]].numpy()
tensor[:, 1] = 0
RESULTS["assigned"] = tensor.numpy().copy()

t1 = torch.cat([tensor, tensor, tensor], dim=1)
RESULTS["cat_shape"] = tuple(t1.shape)
RESULTS["stack_shape"] = tuple(torch.stack([tensor, tensor]).shape)

y1 = tensor @ tensor.T
y2 = tensor.matmul(tensor.T)
y3 = torch.rand_like(y1)
torch.matmul(tensor, tensor.T, out=y3)
RESULTS["matmul"] = y1.numpy()
RESULTS["matmul_forms_agree"] = str(bool(torch.equal(y1, y2) and torch.equal(y1, y3)))
z1 = tensor * tensor
z2 = tensor.mul(tensor)
RESULTS["elementwise"] = str(bool(torch.equal(z1, z2)))

agg = tensor.sum()
agg_item = agg.item()
RESULTS["sum_item"] = agg_item
RESULTS["item_type"] = type(agg_item).__name__
RESULTS["mean_dim"] = tensor.mean(dim=0).numpy()
RESULTS["max_dim"] = f"{tensor.max(dim=1).values.tolist()} {tensor.max(dim=1).indices.tolist()}"
RESULTS["argmax"] = int(tensor.argmax())
RESULTS["keepdim"] = tuple(tensor.sum(1, keepdim=True).shape)
RESULTS["std"] = tensor.std().item()

before = tensor.clone()
tensor.add_(5)
RESULTS["inplace_add"] = (tensor - before).numpy()
tensor.clamp_(max=12)
RESULTS["clamp_"] = tensor.numpy().copy()

# The NumPy bridge shares memory both ways.
t = torch.ones(5)
n = t.numpy()
t.add_(1)
RESULTS["tensor_to_numpy_shares"] = n.copy()
n2 = np.ones(5)
t2 = torch.from_numpy(n2)
np.add(n2, 1, out=n2)
RESULTS["numpy_to_tensor_shares"] = t2.numpy().copy()
RESULTS["numpy_dtype"] = str(t2.dtype == torch.float64)

# Views and reshapes.
base = torch.arange(12)
view = base.view(3, 4)
view[0, 0] = 100
RESULTS["view_shares"] = int(base[0])
RESULTS["permute"] = tuple(torch.zeros(2, 3, 4).permute(2, 0, 1).shape)
RESULTS["unsqueeze_squeeze"] = (
    f"{tuple(base.unsqueeze(0).shape)} {tuple(view[None].squeeze().shape)}"
)
RESULTS["flatten"] = tuple(torch.zeros(2, 3, 4).flatten(1).shape)
RESULTS["transpose_contig"] = str(view.t().is_contiguous())

# Types, comparisons, where, gather.
f = torch.tensor([1.7, -2.2, 3.5])
RESULTS["to_int"] = f.to(torch.int32).tolist()
RESULTS["long"] = f.long().tolist()
RESULTS["where"] = torch.where(f > 0, f, torch.zeros_like(f)).numpy()
idx = torch.tensor([[2, 0], [1, 1]])
RESULTS["gather"] = torch.gather(torch.arange(6.0).reshape(2, 3), 1, idx).numpy()
RESULTS["allclose"] = str(torch.allclose(f, f + 1e-9))
