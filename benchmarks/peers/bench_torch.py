"""PyTorch, eager: the workloads written as a PyTorch user would, on 2 threads.

    python bench_torch.py --workload mlp32 [--repeats 5] [--json]

Models match tf_program.py layer for layer (the CNN in NCHW, PyTorch's layout; with one input
channel the data is the same bytes). Keras' defaults are kept where they change the arithmetic:
Adam's epsilon 1e-7, softmax outputs with a clipped log for the probability losses.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # pins the thread pools before torch loads

args = common.parse_args("torch")
try:
    import torch
    from torch import nn
except ImportError as e:
    common.skip("torch", f"torch is not installed ({e})", args.json, args.workload)

torch.set_num_threads(common.THREADS)
torch.manual_seed(0)
EPS = 1e-7
DEVICE = torch.device("cuda" if args.device == "gpu" else "cpu")
if args.device == "gpu" and not torch.cuda.is_available():
    common.skip("torch", "no CUDA device (or a CPU-only torch build)", args.json, args.workload)


def sparse_ce_on_probs(probs, labels):
    """Keras' sparse_categorical_crossentropy on probabilities: clip, log, pick, mean."""
    return nn.functional.nll_loss(torch.log(probs.clamp(EPS, 1 - EPS)), labels)


def seed000_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10),
                         nn.Softmax(dim=1))


def seed003_model():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10))


def cycle(workload, nchw=False):
    batches = []
    for x, y in common.batch_pool(workload):
        x = torch.from_numpy(x)
        x = x.permute(0, 3, 1, 2).contiguous() if nchw else x
        batches.append((x.to(DEVICE), torch.from_numpy(y).to(DEVICE)))
    state = {"i": 0}

    def next_batch():
        state["i"] += 1
        return batches[state["i"] % len(batches)]
    return next_batch


def train_step_fn(model, loss_fn, optimizer):
    def train_step(images, labels):
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        return loss
    return train_step


def build(workload):
    if workload in ("mlp32", "mlp1024", "cnn32", "cnn256"):
        mlp = workload.startswith("mlp")
        model = (seed000_model() if mlp else seed003_model()).to(DEVICE)
        loss_fn = sparse_ce_on_probs if mlp else nn.functional.cross_entropy
        step = train_step_fn(model, loss_fn, torch.optim.Adam(model.parameters(), lr=1e-3,
                                                               eps=EPS))
        next_batch = cycle(workload, nchw=not mlp)
        sync = {"sync": lambda out: torch.cuda.synchronize()} if args.device == "gpu" else {}
        return {"step": lambda: step(*next_batch()), **sync}
    if args.device == "gpu":
        raise common.Unsupported("the GPU rows are mlp32, mlp1024, cnn32 and cnn256")

    if workload == "mlp001":
        w1 = (torch.rand(784, 512) * 0.1).requires_grad_()
        b1 = torch.zeros(512, requires_grad=True)
        w2 = (torch.rand(512, 10) * 0.1).requires_grad_()
        b2 = torch.zeros(10, requires_grad=True)
        optimizer = torch.optim.SGD([w1, b1, w2, b2], lr=1e-3)

        def model(x):
            return torch.softmax(torch.relu(x @ w1 + b1) @ w2 + b2, dim=1)
        step = train_step_fn(model, sparse_ce_on_probs, optimizer)
        next_batch = cycle(workload)
        return {"step": lambda: step(*next_batch())}

    if workload == "tinytape":
        x0 = torch.from_numpy(common.tiny_input())

        def forward_and_gradient():
            x = x0.detach().requires_grad_()
            y = (x * x + 3 * x).sum()
            return torch.autograd.grad(y, x)[0]
        return {"step": forward_and_gradient}

    if workload.startswith("opchain"):
        x = torch.from_numpy(common.tiny_input()).requires_grad_(workload != "opchain_notape")

        def chain():
            y = x
            for _ in range(common.CHAIN):
                y = y + x
            return y

        if workload != "opchain_grad":
            return {"step": chain}
        ones = torch.ones(common.TINY)
        return {"setup": chain, "step": lambda y: torch.autograd.grad(y, x, ones)[0]}

    if workload == "fitepoch":
        model = seed000_model()
        step = train_step_fn(model, sparse_ce_on_probs,
                             torch.optim.Adam(model.parameters(), lr=1e-3, eps=EPS))

        def fit_epoch(x, y):
            x, y = torch.from_numpy(x), torch.from_numpy(y)
            perm = torch.randperm(len(x))            # fit shuffles every epoch; so do we
            x, y = x[perm], y[perm]
            for i in range(0, len(x), 32):
                step(x[i:i + 32], y[i:i + 32])
        return {"fit_epoch": fit_epoch}

    raise common.Unsupported(f"unknown workload {workload}")


common.main("torch", torch.__version__, build, args, threads=torch.get_num_threads(),
            device=args.device)
