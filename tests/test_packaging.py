"""The installed package carries what a C or C++ program needs to embed the engine: the
headers, libengine.so, the CMake package (find_package(engine) -> engine::engine) and the
pkg-config file, at the paths engine.get_include(), get_library_dir() and get_cmake_dir()
return. A development build (tools/dev_build.sh) has no installed layout: skipped there."""
import os
import shutil
import subprocess

import pytest

import engine

pytestmark = pytest.mark.skipif(
    not os.path.isdir(engine.get_include()),
    reason="no installed layout next to the package (a development build, or an install "
           "older than the packaged headers): "
           f"{engine.get_include()} does not exist")

C_PROGRAM = r"""
#include <stdio.h>
#include "engine/c_api.h"
int main(void) {
  printf("%s %d\n", eng_version(), eng_api_version());
  return eng_api_version() == ENG_API_VERSION ? 0 : 1;
}
"""

CXX_PROGRAM = r"""
#include <cstdio>
#include "engine/npy.h"
#include "engine/session.h"
int main(int, char** argv) {
  engine::Tensor x = engine::Tensor::full({2, 3}, 1.5f);
  engine::npy_write(argv[1], x);
  engine::Tensor y = engine::npy_read(argv[1]);
  std::printf("%s %g\n", y.describe().c_str(), y.data<float>()[5]);
  try {
    engine::InferenceSession::from_file(argv[1]);  // not a model: an engine::Error
  } catch (const engine::Error& e) {
    return 0;
  }
  return 1;
}
"""


def run(args, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, args))}:\n{result.stdout}{result.stderr}"
    return result.stdout


def test_the_paths_hold_the_headers_the_library_and_the_package_files():
    include, libdir = engine.get_include(), engine.get_library_dir()
    cmake_dir = engine.get_cmake_dir()
    for header in ("session.h", "c_api.h", "npy.h", "tensor.h", "export.h"):
        assert os.path.isfile(os.path.join(include, "engine", header)), header
    assert os.path.isfile(os.path.join(libdir, "libengine.so"))
    assert os.path.isfile(os.path.join(cmake_dir, "engineConfig.cmake"))
    assert os.path.isfile(os.path.join(cmake_dir, "engineTargets.cmake"))
    assert os.path.isfile(os.path.join(cmake_dir, "..", "..", "pkgconfig", "engine.pc"))


@pytest.mark.skipif(shutil.which("cmake") is None, reason="needs cmake")
def test_find_package_gives_a_working_target(tmp_path):
    (tmp_path / "main.c").write_text(C_PROGRAM)
    (tmp_path / "main.cpp").write_text(CXX_PROGRAM)
    (tmp_path / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.21)\n"
        "project(uses_engine LANGUAGES C CXX)\n"
        "find_package(engine REQUIRED)\n"
        "add_executable(c_app main.c)\n"
        "target_link_libraries(c_app PRIVATE engine::engine)\n"
        "add_executable(cxx_app main.cpp)\n"
        "target_link_libraries(cxx_app PRIVATE engine::engine)\n")
    build = tmp_path / "build"
    run(["cmake", "-S", tmp_path, "-B", build, f"-Dengine_DIR={engine.get_cmake_dir()}",
         "-DCMAKE_BUILD_TYPE=Release"])
    run(["cmake", "--build", build])
    assert run([build / "c_app"]).split()[0] == engine.__version__
    assert run([build / "cxx_app", tmp_path / "x.npy"]) == "float32[2, 3] 1.5\n"


@pytest.mark.skipif(shutil.which("pkg-config") is None or shutil.which("cc") is None,
                    reason="needs pkg-config and cc")
def test_pkg_config_compiles_and_links_a_c_program(tmp_path):
    env = dict(os.environ,
               PKG_CONFIG_PATH=os.path.join(engine.get_cmake_dir(), "..", "..", "pkgconfig"))
    flags = run(["pkg-config", "--cflags", "--libs", "engine"], env=env).split()
    libdir = run(["pkg-config", "--variable=libdir", "engine"], env=env).strip()
    assert os.path.samefile(libdir, engine.get_library_dir())
    (tmp_path / "main.c").write_text(C_PROGRAM)
    run(["cc", "-std=c99", tmp_path / "main.c", "-o", tmp_path / "app", *flags,
         f"-Wl,-rpath,{libdir}"])
    assert run([tmp_path / "app"]).split()[0] == engine.__version__
