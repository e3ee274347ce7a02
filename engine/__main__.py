"""`python -m engine info`: what this build of the engine is and what it runs on."""
import argparse
import sys

import engine
from engine import _core


def info() -> int:
    print(f"engine {engine.__version__}")
    print(f"cpu kernels: {_core.cpu_features_string()}")
    print(f"threads: {engine.get_num_threads()}")
    cuda = "built" if _core.has_cuda_build() else "not built"
    print(f"cuda: {cuda}, {_core.cuda_devices()} usable device(s)")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="print the build's version, CPU features, threads and CUDA devices")
    args = parser.parse_args(argv)
    if args.command == "info":
        return info()
    return 2


if __name__ == "__main__":
    sys.exit(main())
