#!/usr/bin/env python
"""Exports a saved engine model (a checkpoint from model.save) as ONNX.

    python tools/to_onnx.py CHECKPOINT OUT.onnx [--opset N] [--check]

With --check, runs the exported file in onnxruntime and the engine model on the same random
inputs, prints the largest absolute difference per output and exits 1 when it exceeds
rtol 1e-3 / atol 1e-5.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint")
    p.add_argument("output")
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--check", action="store_true", help="compare with onnxruntime")
    p.add_argument("--batch", type=int, default=2)
    args = p.parse_args(argv)
    import engine
    import engine.onnx

    model = engine.load_model(args.checkpoint)
    engine.onnx.export(model, args.output, opset=args.opset)
    print(f"wrote {args.output} (opset {args.opset})")
    if args.check:
        from check_onnx import compare

        return 0 if compare(args.output, model, batch=args.batch) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
