"""engine: a small, exact and fast deep-learning training and inference engine.

The work runs in a C++17 core (libengine); this package is its Keras-style face.
"""
import glob as _glob
import os as _os
import site as _site
import sysconfig as _sysconfig


def _locate_core():
    """Imports the compiled core. Run from a source checkout (`python -m engine` in the
    repository root puts the sources first on sys.path), the package finds the extension in
    the installed copy and uses it with these sources."""
    try:
        from engine import _core  # noqa: F401
        return
    except ImportError:
        pass
    here = _os.path.dirname(_os.path.abspath(__file__))
    places = {_sysconfig.get_paths()["platlib"], _sysconfig.get_paths()["purelib"]}
    if _site.ENABLE_USER_SITE:
        places.add(_site.getusersitepackages())
    for base in sorted(places):
        candidate = _os.path.join(base, "engine")
        if _os.path.abspath(candidate) != here and _glob.glob(_os.path.join(candidate, "_core*")):
            __path__.append(candidate)
            return
    raise ImportError("engine: the compiled core (engine._core) is missing; install the package "
                      "with `pip install .` or build it with tools/dev_build.sh")


_locate_core()

from engine import _core  # noqa: E402
from engine import (activations, callbacks, constraints, cuda, data, datasets, distribute,
                    initializers, layers, losses, metrics, models, onnx, ops, optimizers, random,
                    regularizers, saving, schedules, utils)
from engine._random import set_seed
from engine.models import Input, Model, Sequential, clone_model
from engine.saving import load_model

__version__ = _core.version_string()


def set_num_threads(n: int) -> None:
    """Set how many threads the CPU kernels use."""
    _core.set_num_threads(n)


def get_num_threads() -> int:
    """How many threads the CPU kernels use."""
    return _core.get_num_threads()


def _package_dir():
    # The folder of the compiled core, the installed package (a source checkout runs with
    # the installed copy's extension, see _locate_core).
    return _os.path.dirname(_os.path.abspath(_core.__file__))


def get_include() -> str:
    """The folder of the C and C++ headers installed with the package (engine/session.h,
    engine/c_api.h, ...): compile with -I<this folder>."""
    return _os.path.join(_package_dir(), "include")


def get_library_dir() -> str:
    """The folder holding libengine.so: link with -L<this folder> -lengine, and let the
    program find it at run time (-Wl,-rpath,<this folder> or LD_LIBRARY_PATH)."""
    return _package_dir()


def get_cmake_dir() -> str:
    """The folder of engineConfig.cmake: cmake -Dengine_DIR=<this folder>, then
    find_package(engine) and target_link_libraries(app PRIVATE engine::engine). The
    pkg-config file is in ../../pkgconfig from here."""
    return _os.path.join(_package_dir(), "lib", "cmake", "engine")


__all__ = [
    "Input", "Model", "Sequential", "activations", "callbacks", "clone_model", "constraints",
    "cuda", "data", "datasets", "get_cmake_dir", "get_include", "get_library_dir", "get_num_threads",
    "initializers", "layers", "load_model", "losses", "metrics", "models", "onnx", "ops",
    "optimizers", "random", "regularizers", "saving", "schedules", "set_num_threads", "set_seed", "utils",
    "__version__",
]
