#!/usr/bin/env python3
"""tools/export_edm2.py on stand-ins of EDM2 network pickles:

  export_edm2_test.py CLI SAFETENSORS_EQUAL        (Python with torch and safetensors; about 30 s)

It trains the tests' tiny model for 256 images with the CLI, then builds, from the run's files, stand-ins
of the reference's pickles: a torch.nn.Module tree whose named parameters and buffers are the file's
tensors (nested modules named as the dotted path, so the layout of EDM2's Precond + UNet is the file's
own, nothing taken from the reference), pickled as {'ema': net} with the standard pickle module. One
carries the constructor kwargs as torch_utils.persistence records them (init_args, init_kwargs), from the
EMA snapshot's fp16 tensors (EDM2's pickles hold fp16); one is a plain module with only the reference's
attributes, from the checkpoint's fp32 network. Checked:
  - the exported tensors equal the originals: bit for bit (safetensors_equal) with --fp16 from fp16,
    and from fp32; the fp32 export of fp16 tensors is their exact upcast;
  - `diffuse info` prints the same ModelConfig for an export and its original, and `diffuse sample`
    writes the same PNG bytes from both with the same seeds;
  - bad input fails with exit status 1 and a message naming the cause, writing nothing: a kwarg diffuse
    cannot represent (resample_filter, channel_mult_emb, an unknown one), kwargs that contradict the
    tensors, a missing pickle key, a URL, an existing output.

The stand-in classes live in this module, imported as `export_edm2_test` (not __main__), so that the
export tool unpickles them with --edm2 pointing here, as it finds EDM2's classes in an edm2 checkout.
"""
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time

import torch
from safetensors import safe_open

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "..", "tools", "export_edm2.py")


class StandInModule(torch.nn.Module):
    """A node of the stand-in tree: parameters, buffers and child nodes by name."""


class StandInPrecond(StandInModule):
    """The root with the constructor arguments recorded as torch_utils.persistence's instances expose them."""

    @property
    def init_args(self):
        return tuple(self._init_args)

    @property
    def init_kwargs(self):
        return dict(self._init_kwargs)


def load_tensors(path, prefix=""):
    with safe_open(path, "pt") as f:
        return {k[len(prefix):]: f.get_tensor(k) for k in f.keys() if k.startswith(prefix)}, f.metadata()


def build_tree(root, tensors):
    """Adds every tensor to `root` under its dotted name; the Fourier features are buffers, as in EDM2."""
    for name, tensor in sorted(tensors.items()):
        *path, leaf = name.split(".")
        node = root
        for part in path:
            if part not in node._modules:
                node.add_module(part, StandInModule())
            node = node._modules[part]
        if leaf in ("freqs", "phases"):
            node.register_buffer(leaf, tensor.clone())
        else:
            node.register_parameter(leaf, torch.nn.Parameter(tensor.clone(), requires_grad=False))
    return root


def edm2_kwargs(config):
    """Precond(**kwargs) of a resolved diffuse ModelConfig (JSON dict), as EDM2's train_edm2.py would
    record them: the interface kwargs and what the config sets, the rest left at the reference default."""
    kwargs = {name: config[name] for name in ("img_resolution", "img_channels", "label_dim", "model_channels",
                                              "channel_mult", "num_blocks", "channels_per_head", "dropout",
                                              "logvar_channels")}
    kwargs["attn_resolutions"] = config.get("attn_resolutions", [])
    kwargs["use_fp16"] = config["precision"] == "PRECISION_FP16"
    defaults = {"res_balance": 0.3, "attn_balance": 0.3, "label_balance": 0.5, "concat_balance": 0.5,
                "clip_act": 256, "sigma_data": 0.5}
    for name, default in defaults.items():
        if config[name] != default:
            kwargs[name] = config[name] if name != "clip_act" or config[name] else None
    return kwargs


def persistent_standin(tensors, kwargs):
    net = build_tree(StandInPrecond(), tensors)
    net._init_args = ()
    net._init_kwargs = dict(kwargs)
    return net


def plain_standin(tensors, kwargs):
    """No recorded arguments: only the attributes the reference's modules set."""
    net = build_tree(StandInModule(), tensors)
    for name in ("img_resolution", "img_channels", "label_dim", "use_fp16"):
        setattr(net, name, kwargs[name])
    net.sigma_data = kwargs.get("sigma_data", 0.5)
    net.unet.label_balance = kwargs.get("label_balance", 0.5)
    net.unet.concat_balance = kwargs.get("concat_balance", 0.5)
    for part in ("enc", "dec"):
        for block in net.unet._modules[part]._modules.values():
            if "emb_gain" not in block._parameters:
                continue  # the stem conv
            block.out_channels = block.conv_res1.weight.shape[0]
            block.num_heads = block.out_channels // kwargs["channels_per_head"] if "attn_qkv" in block._modules else 0
            block.dropout = kwargs["dropout"]
            block.res_balance = kwargs.get("res_balance", 0.3)
            block.attn_balance = kwargs.get("attn_balance", 0.3)
            block.clip_act = kwargs.get("clip_act", 256)
            block.resample_filter = [1, 1]
    return net


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


def main(argv):
    if len(argv) != 2:
        print(__doc__.split("\n\n")[0], file=sys.stderr)
        return 2
    cli, equal = argv
    env = dict(os.environ, OMP_WAIT_POLICY="passive", PYTHONDONTWRITEBYTECODE="1")
    start = time.monotonic()

    def run(command, expect=0):
        p = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if expect is not None and p.returncode != expect:
            raise Failed(f"{' '.join(command)} exited {p.returncode}, not {expect}\n{p.stdout}{p.stderr}")
        return p

    def export(pickle_path, out, *options, expect=0):
        return run([sys.executable, TOOL, pickle_path, out, "--edm2", HERE, *options], expect=expect)

    def save(obj, path):
        with open(path, "wb") as f:
            pickle.dump(obj, f)
        return path

    with tempfile.TemporaryDirectory() as work:
        # The tiny run (tests/tiny_config.sh): 256 images, its checkpoint and EMA snapshots.
        config = subprocess.run(
            ["bash", "-c", f'source "{HERE}/tiny_config.sh"; tiny_config "$1"', "tiny_config",
             f'output_dir: "{work}/run" batch_size: 32 duration_images: 256 status_images: 128 '
             f'checkpoint_images: 0 validation_images: 32 threads: 2 device: "cpu"'],
            check=True, stdout=subprocess.PIPE, text=True).stdout
        with open(f"{work}/tiny.textproto", "w") as f:
            f.write(config)
        run([cli, "train", f"{work}/tiny.textproto"])
        ema_path = f"{work}/run/ema-0.050-0000000.safetensors"
        checkpoint_path = f"{work}/run/checkpoint-0000000.safetensors"
        ema, ema_meta = load_tensors(ema_path)
        net32, _ = load_tensors(checkpoint_path, prefix="net.")
        check(all(t.dtype == torch.float16 for t in ema.values()), "the EMA snapshot is not fp16")
        check(all(t.dtype == torch.float32 for t in net32.values()), "the checkpoint's network is not fp32")
        kwargs = edm2_kwargs(json.loads(ema_meta["model_config"]))

        def info(path):
            return run([cli, "info", path]).stdout

        def sample(path, png):
            run([cli, "sample", path, "--seeds", "0-3", "--class", "3", "--steps", "4", "--out", png])
            with open(png, "rb") as f:
                return f.read()

        # 1. A persistent-class stand-in of an EDM2 snapshot (fp16), exported as fp16 and as fp32.
        snapshot = save({"ema": persistent_standin(ema, kwargs), "encoder": None, "loss_fn": None},
                        f"{work}/network-snapshot-0000000-0.050.pkl")
        summary = export(snapshot, f"{work}/out16.safetensors", "--fp16").stdout
        check("config from net.init_kwargs" in summary and "not exported: pickle keys 'encoder', 'loss_fn'" in summary,
              f"the summary does not say where the config came from and what was left:\n{summary}")
        export(snapshot, f"{work}/out32.safetensors")
        p = run([equal, ema_path, f"{work}/out16.safetensors", "--ignore", "format", "--ignore", "sigma_rel",
                 "--ignore", "nimg", "--ignore", "model_config"], expect=None)
        check(p.returncode == 0, f"the fp16 export differs from the EMA snapshot: {p.stdout}{p.stderr}")
        out32, out32_meta = load_tensors(f"{work}/out32.safetensors")
        check(out32.keys() == ema.keys(), "the fp32 export has other tensor names than the snapshot")
        for name, t in out32.items():
            check(t.dtype == torch.float32 and torch.equal(t, ema[name].float()),
                  f"fp32 export: '{name}' is not the exact upcast of the snapshot's")
        check(out32_meta.get("format") == "diffuse-model-1", f"metadata format is {out32_meta.get('format')!r}")
        reference_info = info(ema_path)
        for out in ("out16", "out32"):
            check(info(f"{work}/{out}.safetensors") == reference_info,
                  f"diffuse info differs for {out}:\n{info(f'{work}/{out}.safetensors')}\nvs\n{reference_info}")
        reference_png = sample(ema_path, f"{work}/ema.png")
        for out in ("out16", "out32"):
            check(sample(f"{work}/{out}.safetensors", f"{work}/{out}.png") == reference_png,
                  f"samples of {out} differ from the EMA snapshot's")

        # 2. A plain module (no init_kwargs) of the checkpoint's fp32 network: attributes and shapes.
        plain = save({"ema": plain_standin(net32, kwargs)}, f"{work}/plain.pkl")
        summary = export(plain, f"{work}/plain.safetensors").stdout
        check("module attributes and tensor shapes" in summary, f"the summary does not say so:\n{summary}")
        plain_out, _ = load_tensors(f"{work}/plain.safetensors")
        check(plain_out.keys() == net32.keys(), "the plain export has other tensor names than the checkpoint's net.*")
        for name, t in plain_out.items():
            check(t.dtype == torch.float32 and torch.equal(t, net32[name]), f"plain export: '{name}' differs")
        check(info(f"{work}/plain.safetensors") == info(checkpoint_path), "diffuse info differs for the plain export")
        check(sample(f"{work}/plain.safetensors", f"{work}/plain.png") == sample(checkpoint_path, f"{work}/ckpt.png"),
              "samples of the plain export differ from the checkpoint's")

        # 3. Bad input: exit status 1, the cause named, nothing written.
        def refused(pickle_path, expected, *options):
            out = f"{work}/refused.safetensors"
            p = export(pickle_path, out, *options, expect=1)
            check(expected in p.stderr, f"expected {expected!r} in the error, got: {p.stderr}")
            check(not os.path.exists(out), f"a refused export wrote {out}")
            leftovers = [n for n in os.listdir(work) if n.endswith(".tmp")]
            check(not leftovers, f"a refused export left {leftovers}")

        def with_kwargs(name, **changes):
            return save({"ema": persistent_standin(ema, dict(kwargs, **changes))}, f"{work}/{name}.pkl")

        refused(with_kwargs("filter", resample_filter=[1, 3, 3, 1]), "kwarg resample_filter=[1, 3, 3, 1]")
        refused(with_kwargs("emb", channel_mult_emb=4), "kwarg channel_mult_emb=4")
        refused(with_kwargs("unknown", attn_heads=2), "kwarg attn_heads=2: not an argument")
        refused(with_kwargs("blocks", num_blocks=2), "no tensor 'unet.enc.16x16_block1.")
        refused(save({"net": persistent_standin(ema, kwargs)}, f"{work}/key.pkl"),
                "no key 'ema' in the pickle (its keys: 'net')")
        refused("https://example.com/network-snapshot.pkl", "a URL; only local files are read")
        existing = f"{work}/refused.safetensors"
        with open(existing, "w"):
            pass
        p = export(snapshot, existing, expect=1)
        check("exists; pass --force" in p.stderr, f"an existing output was not refused: {p.stderr}")
        os.remove(existing)
        # --pickle-key picks another key.
        export(f"{work}/key.pkl", f"{work}/key.safetensors", "--pickle-key", "net")
        check(load_tensors(f"{work}/key.safetensors")[0].keys() == ema.keys(), "--pickle-key net exported other tensors")

    print(f"export_edm2: 4 exports equal to their originals (tensors, info, samples), 7 refusals named; "
          f"{time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    # Run as a script, this file is __main__; the pickled stand-ins must name an importable module.
    # Importing it (here and in the tool's unpickler) writes no __pycache__ into the source tree.
    sys.dont_write_bytecode = True
    sys.path.insert(0, HERE)
    import export_edm2_test
    try:
        sys.exit(export_edm2_test.main(sys.argv[1:]))
    except export_edm2_test.Failed as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
