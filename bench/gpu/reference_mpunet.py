#!/usr/bin/env python3
"""The Python baseline of bench/gpu: the EDM2 MP-UNet, preconditioning, uncertainty-weighted loss,
Adam step and power EMA update in plain PyTorch, written from shared/spec/edm2.md.

  reference_mpunet.py check GOLDEN.safetensors [--device cpu|cuda]
      compares with the golden tiny network (eval outputs, training loss, forced weight
      normalisation, gradients, one Adam step) and prints the worst relative L2 error per group.
  reference_mpunet.py bench [--precision fp16|bf16|fp32] [--compile] [--batch 256] [--micro 128]
                            [--device cuda|cpu] [--ready FILE --go FILE]
      times training steps of the edm2-img64-xs network on random data and prints one RESULT line.
      With --ready/--go it writes FILE READY after the warm-up (torch.compile's, minutes when cold) and
      times its steps only once GO exists, so that the warm-up can run beside other work.
  reference_mpunet.py sample [--precision fp16|bf16|fp32] [--batch 64] [--steps 32] [--device cuda|cpu]
                             [--model FILE] [--threads N]
      times deterministic Heun sampling (EDM ρ-schedule, spec §9) of the same network (or of a diffuse
      model file) and prints one RESULT line.
"""
import argparse
import json
import math
import os
import re
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn


# --- magnitude-preserving primitives (spec §1) ------------------------------------------------------

def normalize(x, dim=None, eps=1e-4):
    """x / (eps + RMS of x over dim), the norm accumulated in fp32 (§1.1)."""
    if dim is None:
        dim = list(range(1, x.ndim))
    norm = torch.linalg.vector_norm(x, dim=dim, keepdim=True, dtype=torch.float32)
    rms = norm * math.sqrt(norm.numel() / x.numel())
    return x / (rms + eps).to(x.dtype)


def mp_silu(x):
    return F.silu(x) / 0.596


def mp_sum(a, b, t):
    return a.lerp(b, t) / math.sqrt((1 - t) ** 2 + t ** 2)


def mp_cat(a, b, t):
    na, nb = a.shape[1], b.shape[1]
    c = math.sqrt((na + nb) / ((1 - t) ** 2 + t ** 2))
    return torch.cat([(c * (1 - t) / math.sqrt(na)) * a, (c * t / math.sqrt(nb)) * b], dim=1)


def resample(x, mode):
    if mode == "down":
        return F.avg_pool2d(x, 2)
    if mode == "up":
        return F.interpolate(x, scale_factor=2, mode="nearest")
    return x


class MPFourier(nn.Module):
    def __init__(self, channels, bandwidth=1.0):
        super().__init__()
        self.register_buffer("freqs", 2 * math.pi * torch.randn(channels) * bandwidth)
        self.register_buffer("phases", 2 * math.pi * torch.rand(channels))

    def forward(self, s):
        y = torch.outer(s.to(torch.float32), self.freqs.to(torch.float32)) + self.phases.to(torch.float32)
        return (y.cos() * math.sqrt(2)).to(s.dtype)


class MPConv(nn.Module):
    """Weight-normalised conv (kernel [k, k]) or linear layer (kernel []) without bias (§1.6)."""

    # Forced weight normalisation inside forward(); off when force_weight_norm() does it beforehand.
    force_in_forward = True

    def __init__(self, cin, cout, kernel):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, *kernel))

    def forward(self, x, gain=1.0):
        w = self.weight.to(torch.float32)  # the parameter itself when it is fp32
        if self.training and MPConv.force_in_forward:
            with torch.no_grad():
                self.weight.copy_(normalize(w))  # forced weight normalisation
        w = normalize(w) * (gain / math.sqrt(w[0].numel()))
        w = w.to(x.dtype)
        if w.ndim == 2:
            return x @ w.t()
        return F.conv2d(x, w, padding=w.shape[-1] // 2)


# --- block and U-Net (spec §2, §3) ---------------------------------------------------------------------

class Block(nn.Module):
    def __init__(self, cin, cout, cemb, flavor, resample_mode="keep", attention=False, channels_per_head=64,
                 dropout=0.0, res_balance=0.3, attn_balance=0.3, clip_act=256):
        super().__init__()
        self.flavor, self.resample_mode, self.dropout = flavor, resample_mode, dropout
        self.res_balance, self.attn_balance, self.clip_act = res_balance, attn_balance, clip_act
        self.num_heads = cout // channels_per_head if attention else 0
        self.emb_gain = nn.Parameter(torch.zeros([]))
        self.conv_res0 = MPConv(cout if flavor == "enc" else cin, cout, [3, 3])
        self.emb_linear = MPConv(cemb, cout, [])
        self.conv_res1 = MPConv(cout, cout, [3, 3])
        self.conv_skip = MPConv(cin, cout, [1, 1]) if cin != cout else None
        if self.num_heads:
            self.attn_qkv = MPConv(cout, cout * 3, [1, 1])
            self.attn_proj = MPConv(cout, cout, [1, 1])

    def forward(self, x, emb):
        x = resample(x, self.resample_mode)
        if self.flavor == "enc":
            if self.conv_skip is not None:
                x = self.conv_skip(x)
            x = normalize(x, dim=1)
        y = self.conv_res0(mp_silu(x))
        c = self.emb_linear(emb, gain=self.emb_gain) + 1
        y = mp_silu(y * c.unsqueeze(2).unsqueeze(3).to(y.dtype))
        if self.training and self.dropout:
            y = F.dropout(y, p=self.dropout)
        y = self.conv_res1(y)
        if self.flavor == "dec" and self.conv_skip is not None:
            x = self.conv_skip(x)
        x = mp_sum(x, y, self.res_balance)
        if self.num_heads:
            n, ch, h, w = x.shape
            qkv = self.attn_qkv(x).reshape(n, self.num_heads, -1, 3, h * w)
            q, k, v = normalize(qkv, dim=2).unbind(3)
            weights = torch.einsum("nhcq,nhck->nhqk", q, k / math.sqrt(q.shape[2])).softmax(dim=3)
            a = torch.einsum("nhqk,nhck->nhcq", weights, v)
            x = mp_sum(x, self.attn_proj(a.reshape(n, ch, h, w)), self.attn_balance)
        if self.clip_act:
            x = x.clamp(-self.clip_act, self.clip_act)
        return x


class UNet(nn.Module):
    def __init__(self, img_resolution, img_channels, label_dim, model_channels=192, channel_mult=(1, 2, 3, 4),
                 num_blocks=3, attn_resolutions=(16, 8), label_balance=0.5, concat_balance=0.5, **block_kwargs):
        super().__init__()
        cblock = [model_channels * m for m in channel_mult]
        cemb = max(cblock)
        self.label_dim, self.label_balance, self.concat_balance = label_dim, label_balance, concat_balance
        self.emb_fourier = MPFourier(cblock[0])
        self.emb_noise = MPConv(cblock[0], cemb, [])
        self.emb_label = MPConv(label_dim, cemb, []) if label_dim else None

        self.enc = nn.ModuleDict()
        cout = img_channels + 1
        for level, channels in enumerate(cblock):
            r = img_resolution >> level
            if level == 0:
                self.enc[f"{r}x{r}_conv"] = MPConv(cout, channels, [3, 3])
                cout = channels
            else:
                self.enc[f"{r}x{r}_down"] = Block(cout, cout, cemb, "enc", resample_mode="down", **block_kwargs)
            for i in range(num_blocks):
                self.enc[f"{r}x{r}_block{i}"] = Block(cout, channels, cemb, "enc", attention=r in attn_resolutions,
                                                      **block_kwargs)
                cout = channels
        skip_channels = [m.weight.shape[0] if isinstance(m, MPConv) else m.conv_res1.weight.shape[0]
                         for m in self.enc.values()]

        self.dec = nn.ModuleDict()
        for level, channels in reversed(list(enumerate(cblock))):
            r = img_resolution >> level
            if level == len(cblock) - 1:
                self.dec[f"{r}x{r}_in0"] = Block(cout, cout, cemb, "dec", attention=True, **block_kwargs)
                self.dec[f"{r}x{r}_in1"] = Block(cout, cout, cemb, "dec", **block_kwargs)
            else:
                self.dec[f"{r}x{r}_up"] = Block(cout, cout, cemb, "dec", resample_mode="up", **block_kwargs)
            for i in range(num_blocks + 1):
                cin = cout + skip_channels.pop()
                self.dec[f"{r}x{r}_block{i}"] = Block(cin, channels, cemb, "dec", attention=r in attn_resolutions,
                                                      **block_kwargs)
                cout = channels
        self.out_gain = nn.Parameter(torch.zeros([]))
        self.out_conv = MPConv(cout, img_channels, [3, 3])

    def forward(self, x, noise_labels, class_labels):
        emb = self.emb_noise(self.emb_fourier(noise_labels))
        if self.emb_label is not None:
            emb = mp_sum(emb, self.emb_label(class_labels * math.sqrt(class_labels.shape[1])), self.label_balance)
        emb = mp_silu(emb)
        x = torch.cat([x, torch.ones_like(x[:, :1])], dim=1)
        skips = []
        for name, module in self.enc.items():
            x = module(x) if name.endswith("_conv") else module(x, emb)
            skips.append(x)
        for name, module in self.dec.items():
            if "block" in name:
                x = mp_cat(x, skips.pop(), self.concat_balance)
            x = module(x, emb)
        return self.out_conv(x, gain=self.out_gain)


class Precond(nn.Module):
    """EDM preconditioning and the uncertainty head (spec §4)."""

    def __init__(self, img_resolution, img_channels, label_dim, body_dtype=torch.float16, sigma_data=0.5,
                 logvar_channels=128, **unet_kwargs):
        super().__init__()
        self.label_dim, self.body_dtype, self.sigma_data = label_dim, body_dtype, sigma_data
        self.unet = UNet(img_resolution, img_channels, label_dim, **unet_kwargs)
        self.logvar_fourier = MPFourier(logvar_channels)
        self.logvar_linear = MPConv(logvar_channels, 1, [])

    def forward(self, x, sigma, class_labels=None, return_logvar=False):
        x = x.to(torch.float32)
        sigma = sigma.to(torch.float32).reshape(-1, 1, 1, 1)
        if self.label_dim:
            class_labels = (torch.zeros(1, self.label_dim, device=x.device) if class_labels is None
                            else class_labels.to(torch.float32).reshape(-1, self.label_dim))
        dtype = self.body_dtype if x.is_cuda else torch.float32
        sd = self.sigma_data
        c_skip = sd ** 2 / (sigma ** 2 + sd ** 2)
        c_out = sigma * sd / (sigma ** 2 + sd ** 2).sqrt()
        c_in = 1 / (sd ** 2 + sigma ** 2).sqrt()
        c_noise = sigma.flatten().log() / 4
        f = self.unet((c_in * x).to(dtype), c_noise, class_labels)
        d = c_skip * x + c_out * f.to(torch.float32)
        if not return_logvar:
            return d
        return d, self.logvar_linear(self.logvar_fourier(c_noise)).reshape(-1, 1, 1, 1)


@torch.no_grad()
def force_weight_norm(weights):
    """Forced weight normalisation of every MPConv at once; equal to doing it in each forward()."""
    for w in weights:
        w.copy_(normalize(w))


def edm2_loss(net, y, labels, sigma, noise, sigma_data=0.5):
    """Per-element (λ(σ)/e^u)·(D − y)² + u (spec §5); noise is unit normal."""
    s = sigma.reshape(-1, 1, 1, 1)
    d, logvar = net(y + noise * s, sigma, labels, return_logvar=True)
    weight = (s ** 2 + sigma_data ** 2) / (s * sigma_data) ** 2
    return (weight / logvar.exp()) * (d - y) ** 2 + logvar


# --- golden check ----------------------------------------------------------------------------------------

def rel_l2(a, b):
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    return ((a - b).norm() / b.norm().clamp_min(1e-30)).item()


def check(path, device):
    from safetensors import safe_open
    with safe_open(path, "pt") as f:
        cfg = json.loads(f.metadata()["config"])
        g = {k: f.get_tensor(k) for k in f.keys()}
    block_keys = ["channels_per_head", "res_balance", "attn_balance", "clip_act"]
    unet_keys = ["model_channels", "channel_mult", "num_blocks", "attn_resolutions", "label_balance", "concat_balance"]
    kwargs = {k: cfg[k] for k in block_keys + unet_keys if k in cfg}
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False

    def fresh():
        net = Precond(cfg["img_resolution"], cfg["img_channels"], cfg["label_dim"], body_dtype=torch.float32,
                      sigma_data=cfg.get("sigma_data", 0.5), logvar_channels=cfg["logvar_channels"], **kwargs)
        net.load_state_dict({k[len("init."):]: v for k, v in g.items() if k.startswith("init.")}, strict=True)
        return net.to(device)

    on = {k: v.to(device) for k, v in g.items()}
    errors = {}

    def record(group, value):
        errors[group] = max(errors.get(group, 0.0), value)

    net = fresh().eval()
    with torch.no_grad():
        d, logvar = net(on["eval.x"], on["eval.sigma"], on["eval.labels"], return_logvar=True)
        record("eval.D", rel_l2(d, g["eval.D"]))
        record("eval.logvar", rel_l2(logvar, g["eval.logvar"]))
        record("eval.D_nolabels", rel_l2(net(on["eval.x"], on["eval.sigma"]), g["eval.D_nolabels"]))

    net = fresh().train()
    loss = edm2_loss(net, on["eval.x"], on["eval.labels"], on["train.sigma"], on["train.noise"]).sum() / 4
    record("train.loss", rel_l2(loss, g["train.loss"]))
    for k, v in net.state_dict().items():
        record("forced_wn", rel_l2(v, g["forced_wn." + k]))
    loss.backward()
    for k, p in net.named_parameters():
        record("grad", rel_l2(p.grad, g["grad." + k]))
    torch.optim.Adam(net.parameters(), lr=0.01, betas=(0.9, 0.99), eps=1e-8).step()
    for k, v in net.state_dict().items():
        record("adam1", rel_l2(v, g["adam1." + k]))
    for group, err in errors.items():
        print(f"CHECK device={device} {group:18s} rel_l2={err:.3e}")
    worst = max(errors.values())
    print(f"CHECK device={device} max_rel_l2={worst:.3e} {'PASS' if worst < 1e-4 else 'FAIL'}")
    return worst < 1e-4


# --- training-step benchmark ----------------------------------------------------------------------------

def wait_for_go(args, warm, on_cuda):
    """Writes args.ready, then waits for args.go (at most args.go_timeout seconds) holding only what
    training keeps between steps: the allocator's cached blocks go back to the device meanwhile."""
    if on_cuda:
        torch.cuda.empty_cache()
    with open(args.ready, "w") as f:
        f.write(f"warm after {warm:.1f} s\n")
    print(f"NOTE warm after {warm:.1f} s; waiting for {args.go}", flush=True)
    deadline = time.monotonic() + args.go_timeout
    while not os.path.exists(args.go):
        if time.monotonic() > deadline:
            sys.exit(f"reference_mpunet.py: no {args.go} after {args.go_timeout} s; not timed")
        time.sleep(0.2)


def bench(args):
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = False
    device = torch.device(args.device)
    on_cuda = device.type == "cuda"
    synchronize = torch.cuda.synchronize if on_cuda else (lambda: None)
    torch.manual_seed(0)
    body = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[args.precision]
    # edm2-img64-xs (spec §6.1).
    net = Precond(64, 3, 1000, body_dtype=body, model_channels=128, logvar_channels=128).to(device).train()
    params = list(net.parameters())
    opt = torch.optim.Adam(params, lr=1e-4, betas=(0.9, 0.99), eps=1e-8)
    emas = [[p.detach().clone() for p in params] for _ in range(2)]
    forward = torch.compile(net) if args.compile else net
    conv_weights = [m.weight for m in net.modules() if isinstance(m, MPConv)]
    force_wn = torch.compile(force_weight_norm) if args.compile else force_weight_norm
    rounds = args.batch // args.micro
    images = torch.randint(0, 256, (4, args.micro, 3, 64, 64), device=device, dtype=torch.uint8)
    images = images.to(torch.float32) / 127.5 - 1
    labels = F.one_hot(torch.randint(0, 1000, (4, args.micro), device=device), 1000).to(torch.float32)

    def step(i):
        opt.zero_grad(set_to_none=False)
        for r in range(rounds):
            j = (i * rounds + r) % 4
            if not MPConv.force_in_forward:
                force_wn(conv_weights)
            sigma = (torch.randn(args.micro, device=device) * 1.6 - 0.8).exp()
            noise = torch.randn_like(images[j])
            loss = edm2_loss(forward, images[j], labels[j], sigma, noise)
            (loss.sum() / args.batch).backward()
        for p in params:
            torch.nan_to_num(p.grad, nan=0.0, posinf=0.0, neginf=0.0, out=p.grad)
        opt.step()
        with torch.no_grad():
            for ema, beta in zip(emas, (0.999, 0.9995)):
                torch._foreach_lerp_(ema, params, 1 - beta)
        return loss

    t0 = time.perf_counter()
    try:
        step(0)
    except Exception as e:  # a compiler that cannot mutate parameters inside the graph
        if not args.compile:
            raise
        print(f"NOTE in-graph forced weight normalisation failed to compile ({type(e).__name__}: "
              f"{str(e).splitlines()[0][:200]}); normalising before the forward instead", flush=True)
        torch._dynamo.reset()
        MPConv.force_in_forward = False
        forward = torch.compile(net)
        step(0)
    for i in range(1, args.warmup):
        step(i)
    synchronize()
    warm = time.perf_counter() - t0
    first = args.warmup
    if args.ready:
        wait_for_go(args, warm, on_cuda)
        step(first)  # refills the allocator's cache that the wait gave back
        synchronize()
        first += 1
    t0 = time.perf_counter()
    for i in range(args.steps):
        loss = step(first + i)
    synchronize()
    s = time.perf_counter() - t0
    impl = "python-compiled" if args.compile else "python-eager"
    print(f"RESULT impl={impl} precision={args.precision} batch={args.batch} micro={args.micro} "
          f"images_per_s={args.batch * args.steps / s:.1f} ms_per_step={1000 * s / args.steps:.2f} "
          f"warmup_s={warm:.1f} peak_bytes={torch.cuda.max_memory_allocated() if on_cuda else 0} "
          f"loss={loss.mean().item():.4f}", flush=True)
    if args.profile:
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            for i in range(3):
                step(i)
            synchronize()
        print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=25))


def sigma_steps(n, sigma_min=0.002, sigma_max=80.0, rho=7.0):
    """σ_0..σ_{N-1} of the ρ-schedule, then σ_N = 0 (spec §9)."""
    a, b = sigma_max ** (1 / rho), sigma_min ** (1 / rho)
    return [(a + (i / (n - 1) if n > 1 else 0.0) * (b - a)) ** rho for i in range(n)] + [0.0]


@torch.no_grad()
def heun_sample(net, noise, labels, steps):
    """Deterministic Heun sampling from x_0 = σ_0·noise, fp32 throughout (spec §9)."""
    sigmas = sigma_steps(steps)
    x = noise * sigmas[0]
    for i in range(steps):
        s, s_next = sigmas[i], sigmas[i + 1]
        d = (x - net(x, torch.full((x.shape[0],), s, device=x.device), labels)) / s
        x_next = x + (s_next - s) * d
        if i < steps - 1:
            d_prime = (x_next - net(x_next, torch.full((x.shape[0],), s_next, device=x.device), labels)) / s_next
            x_next = x + (s_next - s) * (0.5 * d + 0.5 * d_prime)
        x = x_next
    return x


def load_model(path, body_dtype):
    """A diffuse model file (EDM2 names, metadata model_config): its Precond, weights loaded strictly."""
    from safetensors import safe_open
    with safe_open(path, "pt") as f:
        cfg = json.loads(f.metadata()["model_config"])
        state = {k: f.get_tensor(k) for k in f.keys()}
    cfg = {re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), k): v for k, v in cfg.items()}  # JSON names
    block_keys = ["channels_per_head", "res_balance", "attn_balance", "clip_act"]
    unet_keys = ["model_channels", "channel_mult", "num_blocks", "attn_resolutions", "label_balance", "concat_balance"]
    kwargs = {k: cfg[k] for k in block_keys + unet_keys if k in cfg}
    net = Precond(cfg["img_resolution"], cfg["img_channels"], cfg.get("label_dim", 0), body_dtype=body_dtype,
                  sigma_data=cfg.get("sigma_data", 0.5), logvar_channels=cfg["logvar_channels"], **kwargs)
    net.load_state_dict(state, strict=True)
    return net, cfg


def sample_bench(args):
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = False
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    body = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[args.precision]
    if args.model:
        net, cfg = load_model(args.model, body)
        shape, label_dim = (cfg["img_channels"], cfg["img_resolution"], cfg["img_resolution"]), cfg.get("label_dim", 0)
    else:
        net = Precond(64, 3, 1000, body_dtype=body, model_channels=128, logvar_channels=128)
        shape, label_dim = (3, 64, 64), 1000
    net = net.to(device).eval()
    if args.diffuse_seeds:
        # Image i's noise from its own generator seeded i, as diffuse's sampler draws it: the same images.
        noise = torch.stack([torch.randn(shape, generator=torch.Generator().manual_seed(i)) for i in range(args.batch)])
        noise = noise.to(device)
    else:
        noise = torch.randn(args.batch, *shape, device=device)
    labels = (F.one_hot(torch.arange(args.batch, device=device) % label_dim, label_dim).to(torch.float32)
              if label_dim else None)
    for _ in range(args.warmup):
        images = heun_sample(net, noise, labels, args.steps)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(args.repeats):
        images = heun_sample(net, noise, labels, args.steps)
    if device.type == "cuda":
        torch.cuda.synchronize()
    s = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated() if device.type == "cuda" else 0
    print(f"RESULT impl=python-sampler precision={args.precision} batch={args.batch} steps={args.steps} "
          f"images_per_s={args.batch * args.repeats / s:.2f} ms_per_batch={1000 * s / args.repeats:.2f} "
          f"peak_bytes={peak} mean={images.mean().item():.4f}", flush=True)
    if args.save:
        images.to("cpu", torch.float32).contiguous().numpy().tofile(args.save)  # raw float32, as sample_bench --save


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check")
    c.add_argument("golden")
    c.add_argument("--device", default="cpu")
    b = sub.add_parser("bench")
    b.add_argument("--precision", default="fp16", choices=["fp16", "bf16", "fp32"])
    b.add_argument("--compile", action="store_true")
    b.add_argument("--batch", type=int, default=256)
    b.add_argument("--micro", type=int, default=128)
    b.add_argument("--steps", type=int, default=20)
    b.add_argument("--warmup", type=int, default=5)
    b.add_argument("--profile", action="store_true")
    b.add_argument("--device", default="cuda")
    b.add_argument("--ready", help="write this file after the warm-up, then wait for --go before timing")
    b.add_argument("--go", help="the file whose existence starts the timed steps (with --ready)")
    b.add_argument("--go-timeout", type=float, default=1200, help="seconds to wait for --go")
    s = sub.add_parser("sample")
    s.add_argument("--precision", default="fp16", choices=["fp16", "bf16", "fp32"])
    s.add_argument("--batch", type=int, default=64)
    s.add_argument("--steps", type=int, default=32)
    s.add_argument("--repeats", type=int, default=5)
    s.add_argument("--warmup", type=int, default=2)
    s.add_argument("--device", default="cuda")
    s.add_argument("--model", help="a diffuse model file (default: edm2-img64-xs, initial weights)")
    s.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    s.add_argument("--diffuse-seeds", action="store_true", help="image i's noise from a generator seeded i (diffuse's)")
    s.add_argument("--save", help="write the last images as raw float32 [batch, C, R, R]")
    args = p.parse_args()
    if args.command == "check":
        sys.exit(0 if check(args.golden, args.device) else 1)
    if args.command == "bench" and bool(args.ready) != bool(args.go):
        p.error("--ready and --go go together")
    if args.command == "sample":
        sample_bench(args)
    else:
        bench(args)


if __name__ == "__main__":
    main()
