#!/usr/bin/env bash
# Builds llama-cpp-python (no binary wheel exists in the registry) for this CPU, once: the wheel
# is cached per CPU capability, so a machine with another CPU kind builds its own instead of
# running code compiled for instructions it lacks.
#   DIALOGSMITH_CPU_CAPABILITY=avx2  builds the AVX2 path (no AVX-512) on any x86-64 CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
VERSION=0.3.36
PY="$VENV/bin/python"

capability=$("$PY" -m dialogsmith.cpu capability)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/dialogsmith/llama-cpp/$VERSION-$("$PY" -m dialogsmith.cpu build-key)
if ! ls "$cache"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  case "$capability" in
    avx512*) flags="-DGGML_NATIVE=ON" ;;
    avx2) flags="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF" ;;
    *) flags="-DGGML_NATIVE=OFF" ;;
  esac
  echo "building llama-cpp-python $VERSION for $capability ($flags), about 5 minutes, once"
  mkdir -p "$cache"
  CMAKE_ARGS="$flags -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAVA_BUILD=OFF" \
    CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
    "$PY" -m pip wheel -q --disable-pip-version-check --no-deps --no-binary llama-cpp-python \
    -w "$cache.tmp" "llama-cpp-python==$VERSION"
  mv "$cache.tmp"/llama_cpp_python-*.whl "$cache"/ && rm -rf "$cache.tmp"
fi
wheel=$(ls "$cache"/llama_cpp_python-*.whl)
where() { "$PY" -c "import importlib.util as u; s = u.find_spec('llama_cpp'); print(s.submodule_search_locations[0] if s else '')"; }
stamp="$(where)/.dialogsmith-build"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wheel" ]; then
  "$PY" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$wheel"
  "$PY" -m pip install -q --disable-pip-version-check "$wheel"  # numpy, jinja2, diskcache
  echo "$wheel" > "$(where)/.dialogsmith-build"
fi
echo "llama.cpp: $wheel"
