#!/usr/bin/env bash
# The GPU checks of issues #12 and #15 as one device run (an H200 lent for ~15 minutes).
#
#   bash bench/gpu_check.sh prepare [REALDEV]   # here: .gpu/ (git-ignored) = the Python
#       packages the GPU machine lacks, unpacked and xz-packed (~5 MB), and a copy of
#       REALDEV (default ../shared/realdev); prints what will travel (limit 64 MiB)
#   REALDEV=data/realdev bash bench/gpu_check.sh smoke   # here, on the CPU: each step at
#       toy sizes (into data/gpu-check-smoke and /tmp/gpu-check)
#   device run: carry [".gpu"], timeout_s 600, command "bash bench/gpu_check.sh run"
#
# `run` unpacks the packages, then runs each step under its own time limit, its log in $OUT:
#   env          torch, CUDA device, the packages import
#   throughput   bench/train_throughput.py: YOLOv3-416, AMP (bf16) + channels_last, batch
#                16/32/64, loader vs step vs both (the issue's target: 1 500 images/s)
#   ablation     bench/realdev_ablation.py at 416 px: pseudo / half-real / half-real-frames /
#                real / mix on the real photos' val split, with CIs (results.md)
#   ddp          pipeline train under torchrun, 2 processes sharing the one GPU (gloo)
#   oom          pipeline train --auto-batch from a batch that cannot fit (the halving path)
# A step that runs out of time is cut and the next one starts. STEPS="env ablation" (say)
# runs only those; the ablation resumes where it stopped when called again on the same
# (still warm) machine. Typical H200 total: about 8 minutes.
set -u
cd "$(dirname "$0")/.."
MODE=${1:-run}
PKGS="albumentations albucore pydantic pydantic_core annotated_types typing_inspection simsimd stringzilla psd_tools"

STEPS=${STEPS:-env generate throughput ablation ddp oom}

step() {  # step NAME SECONDS CMD...: run CMD with a time limit, log to $OUT/NAME.log
    local name=$1 limit=$2 t0 rc
    shift 2
    case " $STEPS " in *" $name "*) ;; *) return 0 ;; esac
    echo "== $name (limit ${limit} s): $*"
    t0=$(date +%s)
    timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
    rc=$?
    echo "   exit $rc after $(( $(date +%s) - t0 )) s"
    grep -v -e 'it/s\]' -e 's/it\]' "$OUT/$name.log" | tail -n "${TAIL:-15}"
}

case "$MODE" in
prepare)
    src=${2:-../shared/realdev}
    py=${PYTHON:-.venv/bin/python}
    pins=$($py -c "import importlib.metadata as m, sys
print(' '.join(f'{n}=={m.version(n)}' for n in sys.argv[1:]))" $PKGS) || exit 2
    rm -rf .gpu/wheels .gpu/site && mkdir -p .gpu/wheels .gpu/site
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .gpu/wheels $pins || exit 2
    for w in .gpu/wheels/*.whl; do (cd .gpu/site && unzip -q -o "../../$w"); done
    tar -C .gpu/site -cf - . | xz -9e -T0 > .gpu/site.tar.xz
    rm -rf .gpu/wheels .gpu/site
    rm -rf .gpu/realdev && cp -r "$src" .gpu/realdev || exit 2
    tracked=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
    extra=$(du -sb .gpu | cut -f1)
    echo "packages: $pins"
    echo "travels: checkout $tracked + .gpu $extra = $((tracked + extra)) bytes (limit 67108864)"
    [ $((tracked + extra)) -le 67108864 ] || { echo "too large to travel"; exit 2; }
    ;;
run|smoke)
    OUT=${OUT:-/tmp/gpu-check}
    mkdir -p "$OUT"
    export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
    PY=${PYTHON:-$([ "$MODE" = smoke ] && echo .venv/bin/python || echo python3)}
    if [ "$MODE" = run ]; then
        mkdir -p /tmp/site && tar -xJf .gpu/site.tar.xz -C /tmp/site || exit 2
        export PYTHONPATH="$PYTHONPATH:/tmp/site"
        DEV=cuda; W=14; N=3000; SIZE=416; IPE=2000; EP=10; GEN=256; B=64
        LIM_T=150; LIM_A=280; LIM_D=60; LIM_O=60
        nvidia-smi -L
    else
        DEV=cpu; W=2; N=24; SIZE=64; IPE=16; EP=1; GEN=16; B=4
        LIM_T=300; LIM_A=600; LIM_D=300; LIM_O=300
    fi
    work=data/gpu-check$([ "$MODE" = smoke ] && echo -smoke)
    set=$work/set
    step env 60 $PY -c "import torch, cv2, albumentations, psd_tools, synth.generate, detector
print('torch', torch.__version__, 'cuda', torch.cuda.is_available() and torch.cuda.get_device_name())"
    [ -f "$set/manifest.jsonl" ] || step generate 60 $PY -m synth.cli generate --view topdown \
        -n $GEN --size 416x416 --workers $W --out "$set"
    if [ "$MODE" = run ]; then
        step throughput $LIM_T $PY bench/train_throughput.py --data "$set" --skip-cpu \
            --workers $W --steps 20
    else
        step throughput $LIM_T $PY bench/train_throughput.py --data "$set" --skip-cuda \
            --cpu-sizes 64 --cpu-batch 4 --workers $W --steps 2 --warmup 1
    fi
    step ablation $LIM_A $PY bench/realdev_ablation.py --realdev "${REALDEV:-.gpu/realdev}" \
        --out $work/realdev --n $N --img-size $SIZE --images-per-epoch $IPE \
        --epochs $EP --batch-size $B --device $DEV --workers $W
    cp $work/realdev/ablation/results.md "$OUT/" 2>/dev/null
    step ddp $LIM_D $PY -m torch.distributed.run --standalone --nproc_per_node 2 -m pipeline \
        train --data "$set" --model yolov3-tiny --img-size $SIZE --epochs 1 --batch-size $((2 * B)) \
        --device $DEV --workers 2 --project $work/runs --name ddp
    step oom $LIM_O $PY -m pipeline train --data "$set" --model yolov3 --img-size $SIZE \
        --epochs 1 --batch-size $([ "$MODE" = run ] && echo 4096 || echo 8) --auto-batch \
        --device $DEV --workers $W --project $work/runs --name oom
    ;;
*)
    echo "usage: bash bench/gpu_check.sh prepare [REALDEV] | smoke | run" >&2
    exit 2
    ;;
esac
