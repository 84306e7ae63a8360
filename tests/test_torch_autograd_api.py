"""torch.autograd's API on nerve: custom Functions, grad/backward, in-place rules, hooks, grad_fn.

Each check runs one function twice, with ``lib`` bound to torch and to nerve, and compares.
"""

import numpy as np
import pytest

import nerve
from nerve.testing import assert_close

X = np.array([[-1.5, 0.5, 2.0], [0.25, -0.75, 1.0]], dtype=np.float32)


def both(torch, fn, *arrays, **kw):
    """fn(lib, *tensors) with lib = torch, then nerve: both results as lists of arrays."""
    out = []
    for lib in (torch, nerve):
        res = fn(lib, *[lib.tensor(a, requires_grad=True) for a in arrays], **kw)
        res = res if isinstance(res, (tuple, list)) else (res,)
        out.append([None if r is None else np.asarray(_plain(r)) for r in res])
    return out


def _plain(r):
    if hasattr(r, "detach"):
        return r.detach().numpy()
    return r


def assert_both(torch, fn, *arrays, rtol=1e-5, atol=1e-6, **kw):
    ref, ours = both(torch, fn, *arrays, **kw)
    assert len(ref) == len(ours)
    for k, (a, b) in enumerate(zip(ref, ours)):
        if a is None or b is None:
            assert a is None and b is None, f"result {k}: {a} vs {b}"
            continue
        assert_close(b, a, rtol=rtol, atol=atol, msg=f"result {k}: ")


# ---------------------------------------------------------------- custom Function
def _my_relu(lib):
    class MyReLU(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.save_for_backward(x)
            ctx.scale = scale
            return x.clamp(min=0) * scale

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * (x > 0).to(grad_output.dtype) * ctx.scale, None

    return MyReLU


def test_custom_function_forward_backward_and_non_tensor_argument(torch):
    def run(lib, x):
        y = _my_relu(lib).apply(x, 3.0)
        (y * y).sum().backward()
        return y, x.grad

    assert_both(torch, run, X)


def test_custom_function_grad_fn_name_and_needs_input_grad(torch):
    seen = {}

    def run(lib, x, w):
        class Scale(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a, b):
                seen[lib.__name__] = tuple(ctx.needs_input_grad)
                ctx.save_for_backward(a, b)
                return a * b

            @staticmethod
            def backward(ctx, g):
                a, b = ctx.saved_tensors
                return g * b, g * a

        y = Scale.apply(x, w.detach())
        assert y.grad_fn.name() == "ScaleBackward"
        y.sum().backward()
        return x.grad

    assert_both(torch, run, X, X + 1)
    assert seen["torch"] == seen["nerve"] == (True, False)


def test_custom_function_with_two_outputs_and_a_non_differentiable_one(torch):
    def run(lib, x):
        class SortLike(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                doubled = a * 2
                idx = (a > 0).to(lib.int64)
                ctx.mark_non_differentiable(idx)
                return doubled, a.exp(), idx

            @staticmethod
            def backward(ctx, g_doubled, g_exp, g_idx):
                assert g_idx is None or float(g_idx.abs().sum()) == 0.0
                return g_doubled * 2 + g_exp * 3

        d, e, i = SortLike.apply(x)
        assert not i.requires_grad
        (d.sum() + e.sum() * 0).backward()  # e's gradient is materialized as zeros
        return d, i, x.grad

    assert_both(torch, run, X)


def test_custom_function_set_materialize_grads_false_gives_none(torch):
    got = {}

    def run(lib, x):
        class Two(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                ctx.set_materialize_grads(False)
                return a * 1, a * 2

            @staticmethod
            def backward(ctx, g1, g2):
                got[lib.__name__] = g2 is None
                return g1

        a, _ = Two.apply(x)
        a.sum().backward()
        return x.grad

    assert_both(torch, run, X)
    assert got == {"torch": True, "nerve": True}


def test_custom_function_setup_context_style(torch):
    def run(lib, x):
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(a):
                return a**3

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.save_for_backward(inputs[0])

            @staticmethod
            def backward(ctx, g):
                (a,) = ctx.saved_tensors
                return 3 * a * a * g

        Cube.apply(x).sum().backward()
        return x.grad

    assert_both(torch, run, X)


def test_custom_function_wrong_number_of_gradients_is_an_error():
    class Bad(nerve.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g

    x = nerve.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Bad.apply(x, x).sum().backward()


def test_custom_function_gradient_of_wrong_shape_is_an_error():
    class Bad(nerve.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return nerve.ones(5)

    x = nerve.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="invalid gradient at index 0"):
        Bad.apply(x).sum().backward()


def test_custom_function_under_no_grad_records_nothing():
    with nerve.no_grad():
        y = _my_relu(nerve).apply(nerve.ones(2, requires_grad=True), 2.0)
    assert not y.requires_grad and y.grad_fn is None


def test_custom_function_passes_gradcheck():
    x = nerve.tensor(X.astype(np.float64) + 0.1, requires_grad=True)
    assert nerve.autograd.gradcheck(lambda t: _my_relu(nerve).apply(t, 2.0), (x,))


def test_gradcheck_returns_false_without_raising_when_asked():
    class Wrong(nerve.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g * 3

    x = nerve.ones(3, dtype=nerve.float64, requires_grad=True)
    assert nerve.autograd.gradcheck(Wrong.apply, (x,), raise_exception=False) is False


def test_internal_array_level_ops_are_not_torch_style():
    from nerve.autograd.registry import registered_ops

    assert not any(cls._tensor_level for cls in registered_ops().values())


# ---------------------------------------------------------------- autograd.grad / backward
def test_autograd_grad_matches_torch_and_leaves_dot_grad_alone(torch):
    def run(lib, x, w):
        h = x * w
        y = (h.exp() * 0.5).sum()
        gx, gh = lib.autograd.grad(y, [x, h])
        assert x.grad is None
        return gx, gh

    assert_both(torch, run, X, X + 1)


def test_autograd_grad_with_grad_outputs_and_several_outputs(torch):
    def run(lib, x):
        a, b = x * 2, x.sin()
        (g,) = lib.autograd.grad([a, b], x, grad_outputs=[lib.ones_like(a), lib.full_like(b, 3.0)])
        return g

    assert_both(torch, run, X)


def test_autograd_grad_unused_input(torch):
    def run(lib, x, z):
        y = (x * 2).sum()
        with pytest.raises(RuntimeError):
            lib.autograd.grad(y, [x, z], retain_graph=True)
        return lib.autograd.grad(y, [x, z], allow_unused=True)

    assert_both(torch, run, X, X)


def test_autograd_grad_create_graph_is_not_supported():
    x = nerve.ones(2, requires_grad=True)
    with pytest.raises(NotImplementedError, match="create_graph"):
        nerve.autograd.grad((x * x).sum(), x, create_graph=True)


def test_autograd_backward_of_several_tensors(torch):
    def run(lib, x):
        lib.autograd.backward([(x * x).sum(), (x * 3).sum()])
        return x.grad

    assert_both(torch, run, X)


def test_backward_inputs_only_fills_those(torch):
    def run(lib, x, w):
        (x * w).sum().backward(inputs=[w])
        assert x.grad is None
        return w.grad

    assert_both(torch, run, X, X + 1)


# ---------------------------------------------------------------- in-place rules
def test_inplace_ops_on_a_non_leaf_give_torch_gradients(torch):
    def run(lib, x, w):
        h = x * 1.5
        h.add_(w, alpha=2.0)
        h.mul_(w)
        h.sub_(x)
        h.div_(2.0)
        h.pow_(2)
        h.clamp_(max=4.0)
        h.neg_()
        h.exp_()
        h.sum().backward()
        return h, x.grad, w.grad

    assert_both(torch, run, X, X + 2, rtol=1e-5, atol=1e-5)


def test_residual_plus_equals_gets_the_right_gradient(torch):
    def run(lib, x, w):
        identity = x
        out = x * w + 1.0  # add saves nothing: changing its output in place is fine
        out += identity
        out = out.relu()
        out.sum().backward()
        assert out.grad_fn is not None
        return out, x.grad, w.grad

    assert_both(torch, run, X, X - 0.5)


def test_plus_equals_on_an_output_its_node_saved_fails_like_torch(torch):
    for lib in (torch, nerve):
        x = lib.ones(3, requires_grad=True)
        out = (x * 2).tanh()  # tanh saves its output
        out += x
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()


def test_inplace_on_a_leaf_that_requires_grad_is_an_error(torch):
    for lib in (torch, nerve):
        x = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            x.add_(1)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            x += 1
        with lib.no_grad():
            x.mul_(2)
            x -= 1
        assert x.tolist() == [1.0, 1.0, 1.0]


def test_modifying_a_saved_tensor_fails_at_backward_like_torch(torch):
    for lib in (torch, nerve):
        x = lib.ones(3, requires_grad=True)
        y = x.exp()  # exp saves its output for backward
        y.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_modifying_a_leaf_saved_by_a_node_under_no_grad_fails_at_backward(torch):
    for lib in (torch, nerve):
        w = lib.ones(3, requires_grad=True)
        x = lib.ones(3, requires_grad=True)
        y = (w * x).sum()  # mul saves both inputs
        with lib.no_grad():
            w.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.backward()


def test_inplace_on_a_tensor_no_node_saved_is_fine(torch):
    def run(lib, x):
        y = x + 1  # add saves nothing
        y.mul_(3)  # mul_ needs the old y: it keeps its own copy
        y.sum().backward()
        return y, x.grad

    assert_both(torch, run, X)


def test_version_counter_counts_inplace_changes(torch):
    for lib in (torch, nerve):
        a = lib.zeros(3)
        v = a[1:]  # a view shares the counter
        a.add_(1)
        v.mul_(2)
        a[0] = 5.0
        assert a._version == 3
        assert v._version == 3


def test_inplace_cannot_change_an_integer_tensor_to_float(torch):
    for lib in (torch, nerve):
        i = lib.tensor([1, 2])
        with pytest.raises(RuntimeError):
            i += 1.5
        i += 1
        assert i.tolist() == [2, 3]


def test_zero_fill_copy_and_random_fills(torch):
    def run(lib, x):
        a = lib.zeros(2, 3)
        a.fill_(2.5)
        b = lib.empty(2, 3).copy_(x)
        c = (x * 2).zero_()
        return a, b, c

    assert_both(torch, run, X)
    nerve.manual_seed(3)
    u = nerve.empty(1000).uniform_(-2.0, 3.0)
    n = nerve.empty(2000).normal_(1.0, 0.5)
    assert u.dtype == nerve.float32 and u.min().item() >= -2.0 and u.max().item() < 3.0
    assert abs(n.mean().item() - 1.0) < 0.05 and abs(n.std().item() - 0.5) < 0.05
    nerve.manual_seed(3)
    assert np.array_equal(nerve.empty(1000).uniform_(-2.0, 3.0)._data, u._data)


def test_copy_into_a_buffer_carries_the_source_gradient(torch):
    def run(lib, x):
        buf = lib.zeros(2, 3)
        buf.copy_(x * 3)
        buf.sum().backward()
        return x.grad

    assert_both(torch, run, X)


def test_inplace_on_a_view_in_the_graph_says_what_to_do(torch):
    h = nerve.ones(2, 3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="view"):
        h[0].mul_(3)

    def run(lib, x):  # the suggested fix gives torch's gradient
        h = x * 2
        v = h.reshape(-1).clone()
        v.mul_(3)
        (v.sum() + h.sum()).backward()
        return x.grad

    assert_both(torch, run, X)


def test_item_assignment_in_the_graph_gives_torch_gradients(torch):
    def run(lib, x, v):
        h = x * 2
        h[:, 1] = v[:, 0]  # a column from another graph tensor
        h[0, 0] = 7.0  # a number: no gradient back to the old h[0, 0]
        h[h > 5] = 0.5  # a boolean mask
        buf = lib.zeros(3, 3)  # a plain buffer filled row by row, as hand-written RNNs do
        for t in range(3):
            buf[t] = h[0] * t
        (h * h).sum().add(buf.sum()).backward()
        return h, buf, x.grad, v.grad

    assert_both(torch, run, X, X - 1)


def test_item_assignment_on_a_leaf_that_requires_grad_is_an_error(torch):
    for lib in (torch, nerve):
        w = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            w[0] = 2.0
        with lib.no_grad():
            w[0] = 2.0
        assert w.tolist() == [2.0, 1.0, 1.0]


# ---------------------------------------------------------------- hooks, retain_grad, grad_fn
def test_hooks_on_leaves_and_non_leaves_replace_the_gradient(torch):
    def run(lib, x):
        x.register_hook(lambda g: g * 2)
        h = x * 3
        h.retain_grad()
        h.register_hook(lambda g: g + 1)
        seen = []
        handle = h.register_hook(lambda g: seen.append(1))
        handle.remove()
        (h * h).sum().backward()
        assert not seen
        return x.grad, h.grad

    assert_both(torch, run, X)


def test_retain_grad_accumulates_and_leaf_retains_grad(torch):
    def run(lib, x):
        h = x * 2
        h.retain_grad()
        assert h.retains_grad
        (h * h).sum().backward(retain_graph=True)
        (h * h).sum().backward()
        return h.grad, x.grad

    assert_both(torch, run, X)


def test_grad_fn_names_and_next_functions(torch):
    names = {}
    for lib in (torch, nerve):
        x = lib.ones(2, requires_grad=True)
        c = lib.ones(2)
        y = x * c + x
        nxt = y.grad_fn.next_functions
        mul_node = nxt[0][0]
        names[lib.__name__] = (
            y.grad_fn.name(),
            mul_node.name(),
            type(mul_node.next_functions[0][0]).__name__,
            mul_node.next_functions[1][0],
            nxt[1][0].variable is x,
            x.is_leaf,
            y.is_leaf,
        )
    assert names["torch"] == names["nerve"]


def test_requires_grad_and_detach_in_place(torch):
    for lib in (torch, nerve):
        x = lib.ones(2)
        assert x.is_leaf and x.grad_fn is None
        x.requires_grad_()
        y = x * 2
        assert y.requires_grad and not y.is_leaf
        y.detach_()
        assert not y.requires_grad and y.is_leaf and y.grad_fn is None
        with pytest.raises(RuntimeError):
            lib.ones(2).register_hook(lambda g: g)


def test_optimizer_style_inplace_updates_match_torch(torch):
    def run(lib, x, w):
        with lib.no_grad():
            m = lib.zeros_like(x)
            v = lib.zeros_like(x)
            m.lerp_(w, 0.1)
            v.mul_(0.9).addcmul_(w, w, value=0.1)
            x.addcdiv_(m, v.sqrt().add_(1e-8), value=-0.01)
            x.add_(w, alpha=-0.5)
        return x, m, v

    assert_both(torch, run, X, X + 3)


def test_inference_mode_and_variable(torch):
    for lib in (torch, nerve):
        with lib.inference_mode():
            assert not lib.is_grad_enabled() and lib.is_inference_mode_enabled()
            y = lib.ones(2, requires_grad=True) * 2
        assert not y.requires_grad and lib.is_grad_enabled()
        v = lib.autograd.Variable(lib.ones(2), requires_grad=True)
        assert v.requires_grad and lib.is_tensor(v) and lib.numel(v) == 2


def test_onnx_trace_sees_plus_equals_in_a_residual_forward(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    import nerve.onnx
    from nerve import nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 3, padding=1)

        def forward(self, x):
            out = self.conv(x)
            out += x
            out *= 0.5
            return out.relu()

    m = Block().eval()
    x = nerve.randn(2, 3, 5, 5)
    with nerve.no_grad():
        ref = m(x)._data
    nerve.onnx.export(m, (x,), tmp_path / "m.onnx")
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"))
    out = sess.run(None, {sess.get_inputs()[0].name: x._data})[0]
    assert_close(out, ref, rtol=1e-5, atol=1e-6)


def test_anomaly_mode_names_the_node_that_made_nan(torch):
    for lib in (torch, nerve):
        x = lib.tensor([0.0, 1.0], requires_grad=True)
        with lib.autograd.detect_anomaly():
            y = x.sqrt() * 0.0  # d sqrt at 0 is inf; times 0 gives nan
            with pytest.raises(RuntimeError, match="returned nan values"):
                y.sum().backward()
        assert not lib.is_anomaly_enabled()
    x = nerve.tensor([0.0, 1.0], requires_grad=True)
    (x.sqrt() * 0.0).sum().backward()  # off: no check
    assert np.isnan(x.grad._data[0])


def test_gradcheck_passes_non_tensor_arguments_through(torch):
    def linear(lib):
        class LinearFunction(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, w, b):
                ctx.save_for_backward(x, w, b)
                out = x.mm(w.t())
                if b is not None:
                    out += b.unsqueeze(0).expand_as(out)
                return out

            @staticmethod
            def backward(ctx, g):
                x, w, b = ctx.saved_tensors
                gb = g.sum(0) if b is not None and ctx.needs_input_grad[2] else None
                return g.mm(w), g.t().mm(x), gb

        return LinearFunction

    for lib in (torch, nerve):
        x = lib.tensor(X.astype(np.float64), requires_grad=True)
        w = lib.tensor(X.astype(np.float64) * 0.5, requires_grad=True)
        b = lib.tensor([0.1, -0.2], dtype=lib.float64, requires_grad=True)
        fn = linear(lib).apply
        assert lib.autograd.gradcheck(fn, (x, w, b), eps=1e-6, atol=1e-4)
        assert lib.autograd.gradcheck(fn, (x, w, None), eps=1e-6, atol=1e-4)
