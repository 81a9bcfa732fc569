"""Reads the TensorBoard event files of a run folder (`tarm train --log tensorboard`) with TensorBoard's own reader.

    .venv/bin/python tools/torch/read_tensorboard.py runs/dense-addition-L10-s1337          # a table per tag
    .venv/bin/python tools/torch/read_tensorboard.py RUN --json       # {tag: [[step, value], ...]} (used by tests)
    .venv/bin/python tools/torch/read_tensorboard.py --write-fixture FILE
        writes a small event file with TensorBoard's own writer (packages/train/test/tensorboard.test.ts decodes it)

Needs the tensorboard package (bash tools/torch/setup.sh installs it from the local index).
"""

from __future__ import annotations

import json
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

FIXTURE_SCALARS = [(0, "train/loss", 2.5), (1, "train/loss", 1.25), (1, "TaskEvaluation/copy/L3/char_acc", 0.75), (7, "train/loss", -0.0)]
FIXTURE_WALL_TIME = 1_700_000_000.5


def read_scalars(run_dir: str) -> dict:
    acc = EventAccumulator(run_dir, size_guidance={"scalars": 0})  # 0: keep every point
    acc.Reload()
    return {tag: [[e.step, e.value] for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def write_fixture(path: str) -> None:
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.record_writer import RecordWriter

    with open(path, "wb") as f:
        w = RecordWriter(f)
        w.write(event_pb2.Event(wall_time=FIXTURE_WALL_TIME, step=0, file_version="brain.Event:2").SerializeToString())
        for step, tag, value in FIXTURE_SCALARS:
            s = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])
            w.write(event_pb2.Event(wall_time=FIXTURE_WALL_TIME + step, step=step, summary=s).SerializeToString())
        w.flush()


def main() -> None:
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "--write-fixture":
        write_fixture(args[1])
        return
    as_json = "--json" in args
    dirs = [a for a in args if a != "--json"]
    if len(dirs) != 1:
        raise SystemExit(__doc__)
    scalars = read_scalars(dirs[0])
    if as_json:
        print(json.dumps(scalars))
        return
    for tag, points in sorted(scalars.items()):
        print(f"{tag}: {len(points)} points, last step {points[-1][0]}: {points[-1][1]:.6g}")


if __name__ == "__main__":
    main()
