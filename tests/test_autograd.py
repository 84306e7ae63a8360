"""The engine: topological order, accumulation, un-broadcasting, freeing, grad mode, errors."""

import gc
import weakref

import numpy as np
import pytest

import nerve
from nerve.autograd.registry import registered_ops
from nerve.testing import GradcheckError, assert_close, gradcheck


def test_chain_of_100000_ops_backpropagates_without_recursion():
    x = nerve.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_diamond_accumulates_both_paths():
    x = nerve.tensor([2.0, 3.0], requires_grad=True)
    a = x * 3.0
    y = (a * a + a).sum()  # d/dx = (2a + 1) * 3
    y.backward()
    assert_close(x.grad, (2 * np.array([6.0, 9.0]) + 1) * 3)


def test_same_input_twice_gets_two():
    x = nerve.tensor([1.0, -1.0], requires_grad=True)
    (x + x).sum().backward()
    assert_close(x.grad, [2.0, 2.0])


def test_add_of_two_leaves_gives_each_its_own_grad_array():
    a = nerve.ones(3, requires_grad=True)
    b = nerve.ones(3, requires_grad=True)
    (a + b).sum().backward()
    a.grad._data *= 5  # an in-place update of one (as an optimizer would) must not touch the other
    assert_close(b.grad, [1.0, 1.0, 1.0])


def test_gradients_accumulate_across_backward_calls():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * x).sum().backward()
    assert_close(x.grad, [4.0, 8.0])


def test_broadcast_inputs_get_gradients_of_their_own_shape():
    a = nerve.randn(4, 1, 3, requires_grad=True)
    b = nerve.randn(5, 1, requires_grad=True)
    c = nerve.randn(3, requires_grad=True)
    (a * b + c).sum().backward()
    assert a.grad.shape == (4, 1, 3) and b.grad.shape == (5, 1) and c.grad.shape == (3,)
    assert_close(c.grad, np.full(3, 20.0))
    assert_close(a.grad, np.broadcast_to(b._data.sum(), (4, 1, 3)), rtol=1e-5)


def test_broadcast_intermediate_inputs_get_gradients_of_their_own_shape():
    x = nerve.randn(4, 1, requires_grad=True)
    h = x.exp()  # a non-leaf: the graph keeps an Edge for it, with its shape
    (h * nerve.randn(4, 3)).sum().backward()
    assert x.grad.shape == (4, 1)
    assert gradcheck(lambda t: (t.exp() * nerve.ones(4, 3, dtype=nerve.float64)).sum(), x._data)


def test_an_intermediate_no_op_saved_is_freed_before_backward():
    x = nerve.randn(256, requires_grad=True)
    h = x * 2.0
    y = h.exp()
    loss = y.sum()
    gone, kept = weakref.ref(h._data), weakref.ref(y._data)
    del h, y
    gc.collect()
    assert gone() is None  # the graph keeps only an Edge to the node that made h
    assert kept() is not None  # exp's backward reads its output
    loss.backward()
    assert_close(x.grad, 2.0 * np.exp(2.0 * x._data), rtol=1e-5)


def test_second_backward_through_a_freed_graph_raises():
    x = nerve.tensor([1.0], requires_grad=True)
    y = (x * 2.0).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = nerve.tensor([1.0], requires_grad=True)
    y = (x * x * 3.0).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert_close(x.grad, [12.0])


def test_freed_graph_drops_saved_arrays():
    x = nerve.randn(10, requires_grad=True)
    y = x.exp()
    node = y.grad_fn
    y.sum().backward()
    assert node.freed and not node.__dict__


def test_backward_on_non_scalar_needs_gradient():
    x = nerve.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="one element"):
        (x * 2.0).backward()
    (x * 2.0).backward(nerve.ones(3))
    assert_close(x.grad, [2.0, 2.0, 2.0])


def test_backward_with_wrong_gradient_shape_names_both():
    x = nerve.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\(2,\).*\(3,\)"):
        (x * 2.0).backward(nerve.ones(2))


def test_backward_without_grad_says_why():
    with pytest.raises(RuntimeError, match="does not require grad"):
        nerve.ones(2).sum().backward()


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point"):
        nerve.tensor([1, 2], requires_grad=True)


def test_no_grad_context_and_decorator():
    x = nerve.randn(3, requires_grad=True)
    with nerve.no_grad():
        assert not nerve.is_grad_enabled()
        y = x * 2.0
        with nerve.enable_grad():
            z = x * 2.0
    assert nerve.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @nerve.no_grad()
    def infer(t):
        return t * 2.0

    assert not infer(x).requires_grad
    assert nerve.is_grad_enabled()


def test_set_grad_enabled():
    with nerve.set_grad_enabled(False):
        assert not nerve.is_grad_enabled()
    assert nerve.is_grad_enabled()


def test_detach_cuts_the_graph():
    x = nerve.randn(3, requires_grad=True)
    y = (x * 2.0).detach()
    assert not y.requires_grad and y.grad_fn is None


def test_inplace_on_tensor_requiring_grad_is_refused():
    x = nerve.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        x += 1
    with nerve.no_grad():
        x += 1  # allowed: this is what optimizers do


def test_inplace_ops_keep_dtype_and_identity():
    x = nerve.zeros(3)
    same = x
    x += 1.5
    x *= 2
    assert x is same and x.dtype == np.float32
    assert_close(x, [3.0, 3.0, 3.0])


def test_float32_is_kept_with_python_and_numpy_scalars():
    x = nerve.randn(3)
    for y in (x * 2.5, x + np.float64(1.0), 2.0 / (x + 10.0), x**2, np.float64(3.0) * x):
        assert y.dtype == np.float32


def test_int_tensor_with_float_scalar_becomes_float32():
    assert (nerve.arange(3) * 0.5).dtype == np.float32
    assert (nerve.arange(3) + nerve.ones(3)).dtype == np.float32


def test_non_differentiable_inputs_do_not_get_gradients():
    x = nerve.randn(2, 3, requires_grad=True)
    c = nerve.randn(2, 3)
    (x * c).sum().backward()
    assert c.grad is None and x.grad is not None


def test_registry_names_every_op_once():
    ops = registered_ops()
    assert len(ops) == len(set(ops))
    for name, cls in ops.items():
        assert cls.op_name == name


def test_gradcheck_catches_a_wrong_backward():
    from nerve.autograd.function import Function

    class WrongSquare(Function):
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, g):
            return g * self.x  # should be 2x

    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(lambda t: WrongSquare.apply(t), np.random.randn(3))


def test_gradcheck_random_directions_on_large_inputs():
    assert gradcheck(lambda t: (t * t).sum(), np.random.randn(40, 40), max_full=10)


def test_multi_output_function_with_one_output_used():
    from nerve.autograd.function import Function

    class SplitHalves(Function):
        def forward(self, x):
            n = x.shape[0] // 2
            return x[:n].copy(), x[n:].copy()

        def backward(self, g0, g1):
            n = g0.shape[0] if g0 is not None else None
            parts = [
                g0 if g0 is not None else np.zeros_like(g1),
                g1 if g1 is not None else np.zeros_like(g0),
            ]
            del n
            return np.concatenate(parts)

    x = nerve.randn(4, requires_grad=True)
    a, b = SplitHalves.apply(x)
    (a * 3.0).sum().backward()
    assert_close(x.grad, [3.0, 3.0, 0.0, 0.0])


def test_leaf_gradient_lent_in_a_diamond_is_not_corrupted():
    # x feeds a leaf-gradient path and a later node through the same gradient array (add gives
    # g to both inputs); x's second contribution must not change what the later node reads.
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    w = nerve.tensor([3.0, 4.0], requires_grad=True)
    y = x + (x * w)  # dy/dx = 1 + w, dy/dw = x
    y.sum().backward()
    assert_close(x.grad, [4.0, 5.0])
    assert_close(w.grad, [1.0, 2.0])


def test_user_gradient_array_is_never_aliased():
    x = nerve.ones(3, requires_grad=True)
    g = nerve.ones(3)
    (x + 0.0).backward(g)
    x.grad._data *= 7
    assert_close(g, [1.0, 1.0, 1.0])
    leaf = nerve.ones(3, requires_grad=True)
    leaf.backward(g)
    leaf.grad._data *= 7
    assert_close(g, [1.0, 1.0, 1.0])


def test_views_handed_to_leaves_are_copied():
    a = nerve.ones(2, 3, requires_grad=True)
    b = nerve.ones(6, requires_grad=True)
    (a.reshape(6) * 2.0 + b).sum().backward()
    assert a.grad._data.base is None and b.grad._data.base is None
    b.grad._data *= 10
    assert_close(a.grad, np.full((2, 3), 2.0))


def test_zero_dim_leaf_gets_an_array_gradient():
    x = nerve.tensor(0.5, requires_grad=True)
    (x.exp() * 2.0).backward()
    assert type(x.grad._data) is np.ndarray and x.grad.shape == ()
    x.grad._data *= 2  # in place, as optimizers do


def test_version_and_hook_tables_forget_dead_tensors():
    from nerve.autograd import engine, inplace

    before_versions, before_hooks = len(inplace._versions), len(engine._leaf_hooks)
    x = nerve.ones(1000)
    x.add_(1)
    w = nerve.ones(3, requires_grad=True)
    w.register_hook(lambda g: g)
    assert len(inplace._versions) == before_versions + 1
    assert len(engine._leaf_hooks) == before_hooks + 1
    del x, w
    gc.collect()
    assert len(inplace._versions) == before_versions
    assert len(engine._leaf_hooks) == before_hooks


def test_nodes_record_the_inplace_clock_only_when_a_graph_is_made():
    x = nerve.ones(3, requires_grad=True)
    y = x * 2.0
    assert y.grad_fn._epoch == nerve.autograd.grad_mode._state["inplace"]
    z = nerve.ones(3)
    z.add_(1)  # moves the clock: y's node was made before it, so backward looks, finds nothing
    y.sum().backward()
    assert_close(x.grad, [2.0, 2.0, 2.0])
