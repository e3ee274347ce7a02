"""Counts the `onnx` package's backend node test cases the engine passes, next to
onnxruntime's count on the same cases, with the reasons the engine's failures give.

    python tools/onnx_backend_report.py [--filter REGEX] [--failures N]

Each case runs its model on its inputs and compares every output with the expected one at
the case's tolerances. The engine runs it through engine.onnx.InferenceSession with the
inputs as given (tests/helpers.py's run_onnx_in_engine, which the backend tests use too).
"""
import argparse
import collections
import os
import re
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from helpers import run_onnx_in_engine  # noqa: E402  (the tests' runner, shared)


def run_engine(case, inputs):
    return run_onnx_in_engine(case.model, inputs)


def run_onnxruntime(case, inputs):
    import onnxruntime as ort

    session = ort.InferenceSession(case.model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return session.run(None, dict(zip(names, inputs)))


def passes(run, case):
    """None when every data set matches, else the first line of the reason."""
    try:
        for inputs, expected in case.data_sets:
            outputs = run(case, inputs)
            if len(outputs) != len(expected):
                return f"{len(outputs)} outputs, expected {len(expected)}"
            for got, want in zip(outputs, expected):
                want = np.asarray(want)
                got = np.asarray(got)
                if got.shape != want.shape:
                    return f"shape {got.shape}, expected {want.shape}"
                if want.dtype.kind in "fc":
                    np.testing.assert_allclose(got.astype(want.dtype), want, rtol=case.rtol, atol=case.atol)
                elif not np.array_equal(got, want):
                    return "values differ"
        return None
    except Exception as e:  # noqa: BLE001 (every failure is a result to count)
        return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"[:160]


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--filter", default=None, help="only the cases whose name matches this regex")
    parser.add_argument("--failures", type=int, default=25, help="how many failure reasons to list")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    import onnx.backend.test.loader
    import onnxruntime as ort

    ort.set_default_logger_severity(3)

    cases = onnx.backend.test.loader.load_model_tests(kind="node")
    if args.filter:
        cases = [c for c in cases if re.search(args.filter, c.name)]
    counts = collections.Counter()
    reasons = collections.Counter()
    for case in cases:
        ort_error = passes(run_onnxruntime, case)
        engine_error = passes(run_engine, case)
        counts["onnxruntime"] += ort_error is None
        counts["engine"] += engine_error is None
        counts["both"] += ort_error is None and engine_error is None
        if engine_error is not None and ort_error is None:
            reasons[re.sub(r"\(opset \d+\)|'[^']*'|\(\d+ nodes, the first '…'\)|\(node '…'\)", "",
                           re.sub(r"'[^']*'", "'…'", engine_error)).replace("  ", " ")] += 1
    print(f"{len(cases)} backend node cases: onnxruntime passes {counts['onnxruntime']}, the engine "
          f"{counts['engine']} ({counts['both']} of them both)")
    print(f"most common reasons among the {sum(reasons.values())} cases onnxruntime passes and the engine not:")
    for reason, n in reasons.most_common(args.failures):
        print(f"{n:5d}  {reason}")


if __name__ == "__main__":
    sys.exit(main())
