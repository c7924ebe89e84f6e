#!/usr/bin/env bash
# Create .venv and install everything the project needs (idempotent; fast when nothing changed).
# Detectron2 is not on PyPI: unless an importable detectron2 already exists, install the
# sal-detectron2 wheel (Detectron2's 2024 main branch) without its compiled _C, which falls back
# to torchvision ops on Python 3.11, then its real runtime dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
VENV=.venv
STAMP=$VENV/.setup-stamp
if [ -f "$STAMP" ] && [ "$STAMP" -nt setup.py ] && [ "$STAMP" -nt scripts/setup_env.sh ]; then
  exit 0
fi
# A Detectron2 that the base interpreter already imports (a user's own source build, with its torch)
# is used as it is: the venv then sees the system site-packages and torch is not reinstalled.
SYSTEM_D2=""
if "$PY" -c "import detectron2" 2>/dev/null; then SYSTEM_D2=1; fi
[ -x $VENV/bin/python ] || "$PY" -m venv ${SYSTEM_D2:+--system-site-packages} $VENV
. $VENV/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1
# pip: quiet, and without the per-package "Location ... is ignored" lines of this machine's pip config.
pipq() { python -m pip "$@" 2>&1 | awk '!/^WARNING: Location .* is ignored/'; }
[ -n "$SYSTEM_D2" ] || pipq install -q "torch==2.14.1" "torchvision==0.29.1"
if ! python -c "import detectron2" 2>/dev/null; then
  pipq install -q fvcore iopath pycocotools omegaconf hydra-core yacs termcolor tabulate \
    cloudpickle tqdm matplotlib tensorboard "setuptools<81" Pillow
  PURELIB=$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  pipq install -q --no-deps --python-version 3.10 --only-binary=:all: --target "$PURELIB" \
    sal-detectron2==0.7.2
fi
pipq install -q -e ".[dev]"
python -c "import detectron2, ag_detectron" 
touch "$STAMP"
