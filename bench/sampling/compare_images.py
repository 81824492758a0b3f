"""Compares raw float32 image files of sample_bench --save and reference_mpunet.py sample --save: the
largest difference relative to the images' range and the relative L2 error of each file against the
first. Prints one line per file; exits 1 when a relative error exceeds --tolerance.

    python3 compare_images.py REFERENCE.f32 OTHER.f32... [--tolerance 1e-5]
"""
import argparse
import sys

import numpy as np


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("reference")
    p.add_argument("others", nargs="+")
    p.add_argument("--tolerance", type=float, default=1e-5)
    args = p.parse_args()
    ref = np.fromfile(args.reference, dtype=np.float32).astype(np.float64)
    worst = 0.0
    for path in args.others:
        x = np.fromfile(path, dtype=np.float32).astype(np.float64)
        if x.shape != ref.shape:
            print(f"{path}: {x.size} values, the reference has {ref.size}")
            return 1
        max_rel = np.abs(x - ref).max() / np.abs(ref).max()
        l2_rel = np.linalg.norm(x - ref) / np.linalg.norm(ref)
        worst = max(worst, max_rel, l2_rel)
        print(f"{path} vs {args.reference}: max |diff| / max |ref| = {max_rel:.2e}, relative L2 = {l2_rel:.2e}")
    return 0 if worst <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
