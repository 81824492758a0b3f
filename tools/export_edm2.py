#!/usr/bin/env python3
"""Exports a network pickle of the EDM2 reference (NVlabs/edm2) to a diffuse model file.

Run it inside your edm2 checkout (or pass --edm2 DIR), so that the pickle's `dnnlib` and
`torch_utils.persistence` import:

  cd edm2
  python /path/to/diffuse/tools/export_edm2.py training-runs/00000-edm2-img64-s/network-snapshot-0134217-0.100.pkl \\
      edm2-img64-s.safetensors
  python /path/to/diffuse/tools/export_edm2.py phema/phema-0134217-0.090.pkl edm2-img64-s-0.090.safetensors --fp16
  diffuse info edm2-img64-s.safetensors

The input is a training snapshot (network-snapshot-*.pkl) or a post-hoc EMA output of
reconstruct_phema.py (phema-*.pkl): a dict whose key `ema` (--pickle-key) holds the network, a
training.networks_edm2.Precond. The output is what diffuse's save_model writes (format
"diffuse-model-1"): the network's state dict under the EDM2 names (parameters and the Fourier
buffers), fp32 (or fp16 with --fp16; EDM2's pickles hold fp16 tensors, so fp32 is an exact upcast
and --fp16 loses nothing), and the network's ModelConfig as JSON in the metadata key "model_config".

The ModelConfig comes from the constructor arguments that torch_utils.persistence records
(`net.init_args`, `net.init_kwargs`). A network without them (a plain torch.nn.Module of the same
layout) is read from its attributes (those the reference sets: Precond.img_resolution,
.img_channels, .label_dim, .use_fp16, .sigma_data; UNet.label_balance, .concat_balance;
Block.dropout, .res_balance, .attn_balance, .clip_act, .resample_filter, .num_heads) and the shapes of
its tensors. Either way every tensor is checked against the network the config describes before
anything is written, and an argument that diffuse cannot represent is refused by name.

Unpickling runs code from the pickle: export only pickles you trust. Only local files are read: a
URL is refused (download it first). The pickle's `encoder` (the SD-VAE of latent models) is not
exported: diffuse samples the network's own space, latents for an img512 model.

Needs Python 3.8+, torch, safetensors and numpy (pip install safetensors numpy; safetensors' torch writer imports numpy); no protobuf.
"""
import argparse
import json
import math
import operator
import os
import pickle
import re
import sys
import tempfile

PROG = "export_edm2"

# Precond's positional parameters, in order (what net.init_args would fill).
PRECOND_POSITIONAL = ("img_resolution", "img_channels", "label_dim", "use_fp16", "sigma_data", "logvar_channels")

# Every constructor argument of the reference's Precond, UNet and Block that can reach a network
# built by Precond(**kwargs), with the reference's default (None = required).
REFERENCE_DEFAULTS = {
    # Precond
    "img_resolution": None,
    "img_channels": None,
    "label_dim": None,
    "use_fp16": True,
    "sigma_data": 0.5,
    "logvar_channels": 128,
    # UNet
    "model_channels": 192,
    "channel_mult": [1, 2, 3, 4],
    "channel_mult_noise": None,
    "channel_mult_emb": None,
    "num_blocks": 3,
    "attn_resolutions": [16, 8],
    "label_balance": 0.5,
    "concat_balance": 0.5,
    # Block (UNet's **block_kwargs)
    "resample_filter": [1, 1],
    "channels_per_head": 64,
    "dropout": 0.0,
    "res_balance": 0.3,
    "attn_balance": 0.3,
    "clip_act": 256,
}
REQUIRED = ("img_resolution", "img_channels", "label_dim")

# diffuse's bounds (core/config/model_config.cpp; the schema's comments state them).
MAX_RESOLUTION, MAX_IMG_CHANNELS, MAX_LABEL_DIM, MAX_CHANNELS = 4096, 1024, 100000, 16384
MAX_MULT, MAX_LEVELS, MAX_BLOCKS = 64, 12, 64
MAX_CLIP = 65504.0


class ExportError(Exception):
    pass


def refuse(kwarg, value, why):
    raise ExportError(f"kwarg {kwarg}={value!r}: {why}")


# --- reading the pickle ---------------------------------------------------------------------------

def load_network(path, key, edm2_dir):
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", path):
        raise ExportError(f"{path}: a URL; only local files are read (download it first, then pass the file)")
    if not os.path.exists(path):
        raise ExportError(f"{path}: no such file")
    if not os.path.isfile(path):
        raise ExportError(f"{path}: not a regular file")
    if not os.path.isdir(edm2_dir):
        raise ExportError(f"--edm2 {edm2_dir}: no such directory")
    # The pickle's persistent classes import dnnlib and torch_utils from the edm2 checkout.
    sys.path.insert(0, os.path.abspath(edm2_dir))
    import torch  # noqa: F401  (the pickle's tensors need it)
    try:
        with open(path, "rb") as f:
            data = pickle.load(f)
    except ModuleNotFoundError as e:
        raise ExportError(f"{path}: cannot unpickle: {e}; run this where the pickle's modules import: inside "
                          f"your edm2 checkout or with --edm2 DIR (now {os.path.abspath(edm2_dir)}), in a "
                          "Python that has the packages edm2 needs")
    except Exception as e:  # a truncated file, a torch.save archive (training-state-*.pt), a class gone
        raise ExportError(f"{path}: cannot unpickle ({type(e).__name__}: {e}); is it an EDM2 network pickle?")
    if not isinstance(data, dict):
        raise ExportError(f"{path}: the pickle holds a {type(data).__name__}, not a dict of networks "
                          f"(an EDM2 network-snapshot-*.pkl or phema-*.pkl)")
    if key not in data:
        keys = ", ".join(repr(k) for k in data) or "none"
        raise ExportError(f"{path}: no key {key!r} in the pickle (its keys: {keys}); pick one with --pickle-key")
    net = data[key]
    if not isinstance(net, torch.nn.Module):
        raise ExportError(f"{path}: pickle[{key!r}] is a {type(net).__name__}, not a torch.nn.Module")
    return net, data


def recorded_arguments(net):
    """The constructor arguments persistence recorded, as one dict, or None when there are none."""
    def attribute(name):
        try:
            return getattr(net, name)
        except Exception:  # persistence asserts when the instance did not record its arguments
            return None
    kwargs = attribute("init_kwargs")
    if kwargs is None:
        return None
    if not isinstance(kwargs, dict):
        raise ExportError(f"net.init_kwargs is a {type(kwargs).__name__}, not a dict")
    kwargs = dict(kwargs)
    args = attribute("init_args") or ()
    if len(args) > len(PRECOND_POSITIONAL):
        raise ExportError(f"net.init_args has {len(args)} positional arguments; Precond takes at most "
                          f"{len(PRECOND_POSITIONAL)} ({', '.join(PRECOND_POSITIONAL)})")
    for name, value in zip(PRECOND_POSITIONAL, args):
        if name in kwargs:
            raise ExportError(f"net.init_args and net.init_kwargs both give {name}")
        kwargs[name] = value
    return kwargs


def inferred_arguments(net, tensors):
    """Constructor arguments from the module's attributes and its tensors' shapes (no init_kwargs)."""
    kwargs = {}
    for name in ("img_resolution", "img_channels", "label_dim", "use_fp16", "sigma_data"):
        if hasattr(net, name):
            kwargs[name] = getattr(net, name)
    unet = getattr(net, "unet", None)
    for name in ("label_balance", "concat_balance"):
        if unet is not None and hasattr(unet, name):
            kwargs[name] = getattr(unet, name)

    # Block attributes: every block got the same **block_kwargs.
    blocks = [(n, m) for n, m in net.named_modules() if n.startswith("unet.enc.") or n.startswith("unet.dec.")]
    blocks = [(n, m) for n, m in blocks if n.count(".") == 2 and f"{n}.emb_gain" in tensors]
    for name in ("dropout", "res_balance", "attn_balance", "clip_act", "resample_filter"):
        values = {}
        for block_name, block in blocks:
            if hasattr(block, name):
                values.setdefault(repr(getattr(block, name)), (block_name, getattr(block, name)))
        if len(values) > 1:
            (a, va), (b, vb) = list(values.values())[:2]
            raise ExportError(f"blocks differ in {name}: {a} has {va!r}, {b} has {vb!r}; diffuse has one value per network")
        if values:
            kwargs[name] = next(iter(values.values()))[1]
    heads = {}
    for block_name, block in blocks:
        num_heads = getattr(block, "num_heads", 0) or 0
        qkv = tensors.get(f"{block_name}.attn_qkv.weight")
        if num_heads and qkv is not None:
            heads.setdefault(qkv.shape[1] // num_heads, block_name)
    if len(heads) > 1:
        raise ExportError(f"blocks differ in channels per attention head ({', '.join(map(str, heads))}); "
                          "diffuse has one channels_per_head per network")
    if heads:
        kwargs["channels_per_head"] = next(iter(heads))

    # Shapes: the stem conv names the resolution, each level's blocks its channels.
    stems = [m for m in (re.fullmatch(r"unet\.enc\.(\d+)x(\d+)_conv\.weight", k) for k in tensors) if m]
    if len(stems) != 1 or stems[0].group(1) != stems[0].group(2):
        raise ExportError("the network has no init_kwargs and no single stem tensor unet.enc.<R>x<R>_conv.weight "
                          "to infer its architecture from: is it an EDM2 Precond?")
    stem = tensors[stems[0].group(0)]
    resolution = int(stems[0].group(1))
    kwargs.setdefault("img_resolution", resolution)
    kwargs.setdefault("img_channels", stem.shape[1] - 1)
    cblock, num_blocks, attention = [], None, []
    while True:
        res = resolution >> len(cblock)
        indices = {int(m.group(1)) for m in
                   (re.fullmatch(rf"unet\.enc\.{res}x{res}_block(\d+)\.conv_res1\.weight", k) for k in tensors) if m}
        if res < 1 or not indices:
            break
        num_blocks = len(indices) if num_blocks is None else num_blocks
        cblock.append(tensors[f"unet.enc.{res}x{res}_block{max(indices)}.conv_res1.weight"].shape[0])
        if f"unet.enc.{res}x{res}_block0.attn_qkv.weight" in tensors:
            attention.append(res)
    if not cblock:
        raise ExportError(f"no encoder blocks unet.enc.{resolution}x{resolution}_block<i>: is it an EDM2 Precond?")
    model_channels = 0
    for c in cblock:
        model_channels = math.gcd(model_channels, c)
    kwargs["model_channels"] = model_channels
    kwargs["channel_mult"] = [c // model_channels for c in cblock]
    kwargs["num_blocks"] = num_blocks
    kwargs["attn_resolutions"] = attention
    label = tensors.get("unet.emb_label.weight")
    kwargs.setdefault("label_dim", label.shape[1] if label is not None else 0)
    if "logvar_linear.weight" in tensors:
        kwargs["logvar_channels"] = tensors["logvar_linear.weight"].shape[1]
    return kwargs


# --- kwargs -> ModelConfig ------------------------------------------------------------------------

def as_int(name, value, lo, hi):
    try:
        if isinstance(value, bool):
            raise TypeError
        v = operator.index(value)
    except TypeError:
        refuse(name, value, "not an integer")
    if not lo <= v <= hi:
        refuse(name, value, f"outside {lo}..{hi}, what diffuse accepts")
    return v


def as_float(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        refuse(name, value, "not a number")
    v = float(value)
    if not math.isfinite(v):
        refuse(name, value, "not finite")
    return v


def as_unit(name, value, include_one=True):
    v = as_float(name, value)
    if not (0.0 <= v and (v <= 1.0 if include_one else v < 1.0)):
        refuse(name, value, f"outside [0, 1{']' if include_one else ')'}, what diffuse accepts")
    return v


def as_int_list(name, value):
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        refuse(name, value, "not a list of integers")
    out = []
    for item in value:
        try:
            if isinstance(item, bool):
                raise TypeError
            out.append(operator.index(item))
        except TypeError:
            refuse(name, value, "not a list of integers")
    return out


def model_config(kwargs):
    """The ModelConfig fields (proto names, schema order) for Precond(**kwargs), and notes."""
    notes = []
    for name in kwargs:
        if name not in REFERENCE_DEFAULTS:
            refuse(name, kwargs[name], "not an argument of the reference's Precond, UNet or Block that diffuse knows; "
                   "diffuse cannot represent the network it changes")
    for name in REQUIRED:
        if name not in kwargs:
            raise ExportError(f"kwarg {name} is missing (Precond requires it)")
    k = dict(REFERENCE_DEFAULTS)
    k.update(kwargs)

    img_resolution = as_int("img_resolution", k["img_resolution"], 1, MAX_RESOLUTION)
    img_channels = as_int("img_channels", k["img_channels"], 1, MAX_IMG_CHANNELS)
    label_dim = as_int("label_dim", k["label_dim"], 0, MAX_LABEL_DIM)
    model_channels = as_int("model_channels", k["model_channels"], 1, MAX_CHANNELS)
    channel_mult = as_int_list("channel_mult", k["channel_mult"])
    if not 1 <= len(channel_mult) <= MAX_LEVELS:
        refuse("channel_mult", k["channel_mult"], f"{len(channel_mult)} levels; diffuse takes 1..{MAX_LEVELS}")
    for m in channel_mult:
        if not 1 <= m <= MAX_MULT or m * model_channels > MAX_CHANNELS:
            refuse("channel_mult", k["channel_mult"],
                   f"each must be in 1..{MAX_MULT} with model_channels * it <= {MAX_CHANNELS}")
    if img_resolution % (1 << (len(channel_mult) - 1)):
        refuse("img_resolution", img_resolution, f"not divisible by 2^{len(channel_mult) - 1}, as the "
               f"{len(channel_mult)} levels of channel_mult need")
    cblock = [model_channels * m for m in channel_mult]
    levels = [img_resolution >> level for level in range(len(channel_mult))]

    # The embedding widths: diffuse has the reference's defaults only.
    for name, default, what in (("channel_mult_noise", cblock[0], "the noise embedding has model_channels * "
                                 "channel_mult[0]"), ("channel_mult_emb", max(cblock), "the embedding has "
                                 "model_channels * max(channel_mult)")):
        if k[name] is not None:
            if as_float(name, k[name]) * model_channels != default:
                refuse(name, k[name], f"diffuse cannot represent it: {what} = {default} channels "
                       f"(leave it None)")
            notes.append(f"{name}={k[name]!r} is the default width ({default} channels)")

    num_blocks = as_int("num_blocks", k["num_blocks"], 1, MAX_BLOCKS)
    attn = as_int_list("attn_resolutions", k["attn_resolutions"])
    ignored = [r for r in attn if r not in levels]
    if ignored:
        notes.append(f"attn_resolutions {ignored} match no level ({levels}) and have no effect: dropped")
    attn = [r for r in dict.fromkeys(attn) if r in levels]

    filt = k["resample_filter"]
    try:
        filt_values = [float(x) for x in filt]
    except (TypeError, ValueError):
        refuse("resample_filter", filt, "not a list of numbers")
    if len(filt_values) != 2 or filt_values[0] != filt_values[1] or not filt_values[0] > 0:
        refuse("resample_filter", filt, "diffuse resamples with the box filter [1, 1] only "
               "(2x2 average pooling down, nearest-neighbour up)")

    channels_per_head = as_int("channels_per_head", k["channels_per_head"], 1, MAX_CHANNELS)
    for level, res in enumerate(levels):
        if (res in attn or level == len(levels) - 1) and cblock[level] % channels_per_head:
            refuse("channels_per_head", channels_per_head, f"does not divide the {cblock[level]} channels at "
                   f"resolution {res}; diffuse needs whole heads")

    clip_act = k["clip_act"]
    if clip_act is None:
        clip_act = 0.0  # diffuse: 0 = no clamping
    else:
        clip_act = as_float("clip_act", clip_act)
        if not 0.0 < clip_act <= MAX_CLIP:
            refuse("clip_act", k["clip_act"], f"diffuse clamps to a bound in (0, {MAX_CLIP:g}] or not at all (None)")

    try:
        is_bool = not isinstance(k["use_fp16"], str) and k["use_fp16"] in (True, False)
    except Exception:  # an array, say
        is_bool = False
    if not is_bool:
        refuse("use_fp16", k["use_fp16"], "not a bool")
    use_fp16 = bool(k["use_fp16"])
    sigma_data = as_float("sigma_data", k["sigma_data"])
    if not sigma_data > 0:
        refuse("sigma_data", k["sigma_data"], "must be > 0")

    config = {
        "preset": "",
        "img_resolution": img_resolution,
        "img_channels": img_channels,
        "label_dim": label_dim,
        "model_channels": model_channels,
        "channel_mult": channel_mult,
        "num_blocks": num_blocks,
    }
    if attn:
        config["attn_resolutions"] = attn
    config["no_attn_resolutions"] = not attn  # an empty attn_resolutions means the default [16, 8]
    config.update({
        "channels_per_head": channels_per_head,
        "dropout": as_unit("dropout", k["dropout"], include_one=False),
        "res_balance": as_unit("res_balance", k["res_balance"]),
        "attn_balance": as_unit("attn_balance", k["attn_balance"]),
        "label_balance": as_unit("label_balance", k["label_balance"]),
        "concat_balance": as_unit("concat_balance", k["concat_balance"]),
        "clip_act": clip_act,
        "logvar_channels": as_int("logvar_channels", k["logvar_channels"], 1, MAX_CHANNELS),
        "sigma_data": sigma_data,
        "precision": "PRECISION_FP16" if use_fp16 else "PRECISION_FP32",
    })
    return config, notes


def config_json(config):
    """Protobuf JSON with proto field names, as diffuse writes it (integral doubles without '.0')."""
    def number(v):
        if isinstance(v, float) and v.is_integer() and abs(v) < 2 ** 53:
            return int(v)
        return v
    return json.dumps({k: number(v) for k, v in config.items()}, separators=(",", ":"))


def config_text(config):
    lines = []
    for k, v in config.items():
        if isinstance(v, list):
            lines += [f"{k}: {x}" for x in v]
        elif isinstance(v, bool):
            lines.append(f"{k}: {'true' if v else 'false'}")
        elif isinstance(v, str) and not v.startswith("PRECISION_"):
            lines.append(f'{k}: "{v}"')
        else:
            lines.append(f"{k}: {v:g}" if isinstance(v, float) else f"{k}: {v}")
    return lines


# --- the tensors diffuse expects (core/nn/model_plan.cpp) -----------------------------------------

def expected_shapes(c):
    mc, mult, res0 = c["model_channels"], c["channel_mult"], c["img_resolution"]
    attn = c.get("attn_resolutions", [])
    cblock = [mc * m for m in mult]
    cnoise, cemb = cblock[0], max(cblock)
    shapes = {}

    def block(name, cin, cout, flavor, attention):
        p = name + "."
        shapes[p + "emb_gain"] = ()
        shapes[p + "conv_res0.weight"] = (cout, cout if flavor == "enc" else cin, 3, 3)
        shapes[p + "emb_linear.weight"] = (cout, cemb)
        shapes[p + "conv_res1.weight"] = (cout, cout, 3, 3)
        if cin != cout:
            shapes[p + "conv_skip.weight"] = (cout, cin, 1, 1)
        if attention:
            shapes[p + "attn_qkv.weight"] = (cout * 3, cout, 1, 1)
            shapes[p + "attn_proj.weight"] = (cout, cout, 1, 1)

    shapes["unet.emb_fourier.freqs"] = (cnoise,)
    shapes["unet.emb_fourier.phases"] = (cnoise,)
    shapes["unet.emb_noise.weight"] = (cemb, cnoise)
    if c["label_dim"] > 0:
        shapes["unet.emb_label.weight"] = (cemb, c["label_dim"])
    skips, cout = [], c["img_channels"] + 1
    for level, channels in enumerate(cblock):
        res = res0 >> level
        if level == 0:
            shapes[f"unet.enc.{res}x{res}_conv.weight"] = (channels, cout, 3, 3)
            cout = channels
        else:
            block(f"unet.enc.{res}x{res}_down", cout, cout, "enc", False)
        skips.append(cout)
        for i in range(c["num_blocks"]):
            block(f"unet.enc.{res}x{res}_block{i}", cout, channels, "enc", res in attn)
            cout = channels
            skips.append(cout)
    for level in reversed(range(len(cblock))):
        res, channels = res0 >> level, cblock[level]
        if level == len(cblock) - 1:
            block(f"unet.dec.{res}x{res}_in0", cout, cout, "dec", True)
            block(f"unet.dec.{res}x{res}_in1", cout, cout, "dec", False)
        else:
            block(f"unet.dec.{res}x{res}_up", cout, cout, "dec", False)
        for i in range(c["num_blocks"] + 1):
            block(f"unet.dec.{res}x{res}_block{i}", cout + skips.pop(), channels, "dec", res in attn)
            cout = channels
    shapes["unet.out_gain"] = ()
    shapes["unet.out_conv.weight"] = (c["img_channels"], cout, 3, 3)
    shapes["logvar_fourier.freqs"] = (c["logvar_channels"],)
    shapes["logvar_fourier.phases"] = (c["logvar_channels"],)
    shapes["logvar_linear.weight"] = (1, c["logvar_channels"])
    return shapes


def check_tensors(tensors, config):
    import torch
    expected = expected_shapes(config)
    for name, shape in expected.items():
        if name not in tensors:
            raise ExportError(f"the network has no tensor '{name}', which the config from its kwargs implies")
        t = tensors[name]
        if tuple(t.shape) != shape:
            raise ExportError(f"tensor '{name}' has shape {list(t.shape)} but the config from its kwargs implies "
                              f"{list(shape)}")
        if not t.is_floating_point():
            raise ExportError(f"tensor '{name}' has non-floating dtype {t.dtype}")
    for name in tensors:
        if name not in expected:
            raise ExportError(f"tensor '{name}' is not part of the network diffuse builds from the config "
                              "(a module the reference's Precond does not have)")
    return sum(torch.Size(s).numel() for n, s in expected.items() if "fourier" not in n)


# --- main -----------------------------------------------------------------------------------------

def export(args):
    import torch
    from safetensors.torch import save_file

    if os.path.exists(args.output) and not args.force:
        raise ExportError(f"{args.output}: exists; pass --force to replace it")
    net, data = load_network(args.pickle, args.pickle_key, args.edm2)
    tensors = {name: t.detach() for name, t in net.state_dict().items()}

    kwargs = recorded_arguments(net)
    source = "net.init_kwargs"
    if kwargs is None:
        kwargs = inferred_arguments(net, tensors)
        source = "module attributes and tensor shapes (no init_kwargs)"
    config, notes = model_config(kwargs)
    parameters = check_tensors(tensors, config)

    dtype = torch.float16 if args.fp16 else torch.float32
    out = {}
    for name in sorted(tensors):
        t = tensors[name].to(device="cpu", dtype=dtype, copy=True).contiguous()
        if not torch.isfinite(t).all():
            raise ExportError(f"tensor '{name}' has non-finite values in {str(dtype)[6:]}"
                              + (" (out of fp16 range: export without --fp16)" if args.fp16 else ""))
        out[name] = t
    metadata = {"format": "diffuse-model-1", "model_config": config_json(config)}

    directory = os.path.dirname(os.path.abspath(args.output))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(args.output) + ".", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        save_file(out, tmp, metadata=metadata)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would outlive the rename
        os.replace(tmp, args.output)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise

    source_dtypes = sorted({str(t.dtype)[6:] for t in tensors.values()})
    print(f"{args.pickle}[{args.pickle_key!r}]: {type(net).__module__}.{type(net).__name__}")
    print(f"  config from {source}:")
    for line in config_text(config):
        print(f"    {line}")
    for note in notes:
        print(f"  note: {note}")
    other = [k for k in data if k != args.pickle_key]
    if other:
        print(f"  not exported: pickle keys {', '.join(repr(k) for k in other)}")
    print(f"  {len(out)} tensors, {parameters} parameters, {'/'.join(source_dtypes)} -> {str(dtype)[6:]}")
    print(f"wrote {args.output} (diffuse-model-1); check it with: diffuse info {args.output}")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="export_edm2.py", description=__doc__.split("\n\n")[0],
        epilog="Run inside the edm2 checkout (or pass --edm2), so that the pickle's modules import.")
    parser.add_argument("pickle", metavar="PICKLE", help="an EDM2 network pickle (network-snapshot-*.pkl, phema-*.pkl): a local file")
    parser.add_argument("output", metavar="OUT", help="the diffuse model file to write (.safetensors)")
    parser.add_argument("--pickle-key", default="ema", metavar="KEY", help="the pickle's key of the network (default: ema)")
    parser.add_argument("--fp16", action="store_true", help="write fp16 tensors (default fp32)")
    parser.add_argument("--edm2", default=".", metavar="DIR",
                        help="the edm2 checkout whose dnnlib/torch_utils the pickle imports (default: .)")
    parser.add_argument("--force", action="store_true", help="replace an existing output file")
    args = parser.parse_args(argv)
    try:
        export(args)
    except ExportError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
