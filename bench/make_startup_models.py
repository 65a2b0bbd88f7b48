"""Writes random-weight LION ViTs of the size a converted checkpoint has (12
layers, width 384, 6 heads, MLP 1536, 16 px patches) at several image sizes,
for the start-up benchmark (BENCHMARKS.md section 7). Weights are random: start-up
cost does not depend on their values. Nothing here is committed.

  python bench/make_startup_models.py OUT_DIR [--variant s] [--sizes 224 512 1024]
"""

import argparse
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "python"))

from lionserve.golden import make_random_model_dir  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=pathlib.Path)
    parser.add_argument("--variant", default="s", choices=["lit", "d", "s"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[224, 512, 1024])
    args = parser.parse_args()
    for size in args.sizes:
        path = args.out / f"vit-{args.variant}-{size}"
        make_random_model_dir(path, "lion_vit", args.variant, seed=size, hidden_size=384,
                              num_heads=6, num_layers=12, intermediate_size=1536,
                              image_size=size, patch_size=16, num_channels=3,
                              labels=[f"class{i}" for i in range(10)])
        tokens = (size // 16) ** 2 + 1
        print(f"{path}: {tokens} tokens")


if __name__ == "__main__":
    main()
