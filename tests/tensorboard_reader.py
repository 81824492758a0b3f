#!/usr/bin/env python3
"""Reads a run directory's TensorBoard event files with TensorBoard's own reader and checks them against
the run's stats.jsonl and sample grids.

  tensorboard_reader.py RUN_DIR RESUMED_AT

RESUMED_AT: the images of the checkpoint the run was resumed from (the run must have been resumed once,
after events past that checkpoint were written). Checks that
  - there is an event file per session, in session order, the second starting at RESUMED_AT + 1 and the
    first holding events past it (so that TensorBoard's purge at a restart is exercised);
  - every scalar tag holds one value per step, at the steps of the stats.jsonl lines that carry it
    (images seen), equal to the line's value in float32; non-finite values are absent;
  - the image `samples` is at the grids' steps, its size and bytes those of samples/grid-<kimg>.png.
Prints the scalar tags it saw."""
import json
import math
import pathlib
import struct
import sys

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def expected_series(lines, tags):
    """tag -> {step: value} from stats.jsonl, for every tag TensorBoard should show."""
    series = {}

    def put(tag, step, value):
        if value is None or not math.isfinite(value):
            return  # null in stats.jsonl: no measurement, no point
        series.setdefault(tag, {})[step] = value

    bins = sorted((t for t in tags if t.startswith("loss_per_sigma_bin/")), key=lambda t: int(t.split("/")[1].split("_")[0]))
    sigmas = sorted((t for t in tags if t.startswith("validation_loss/sigma_")), key=lambda t: float(t.split("_")[-1]))
    for line in lines:
        step = line["nimg"]
        if "loss" in line:
            put("loss", step, line["loss"])
            if len(bins) != len(line["loss_per_sigma_bin"]):
                fail(f"{len(bins)} loss_per_sigma_bin tags, {len(line['loss_per_sigma_bin'])} bins in stats.jsonl")
            for tag, value in zip(bins, line["loss_per_sigma_bin"]):
                put(tag, step, value)
            put("learning_rate", step, line["lr"])
            put("beta1", step, line["beta1"])
            put("images_per_second", step, line["images_per_second"])
        if "validation_loss" in line:
            put("validation_loss", step, line["validation_loss"])
            if len(sigmas) != len(line["validation_loss_per_sigma"]):
                fail(f"{len(sigmas)} validation_loss/sigma_* tags, {len(line['validation_loss_per_sigma'])} σ in stats.jsonl")
            for tag, value in zip(sigmas, line["validation_loss_per_sigma"]):
                put(tag, step, value)
    return series


def png_size(data):
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        fail("an image is not a PNG")
    return struct.unpack(">II", data[16:24])  # width, height


def main():
    run, resumed_at = pathlib.Path(sys.argv[1]), int(sys.argv[2])

    # The files, as TensorBoard orders them (by name), one per session.
    files = sorted(p for p in run.iterdir() if "tfevents" in p.name)
    if len(files) != 2:
        fail(f"{len(files)} event files, expected 2 (a run and its resume): {[p.name for p in files]}")
    sessions = []
    for path in files:
        events = list(EventFileLoader(str(path)).Load())
        if events[0].file_version != "brain.Event:2":
            fail(f"{path.name} begins with {events[0]!r}, not the file version")
        if events[1].session_log.status != 1:  # SessionLog.START
            fail(f"{path.name}: its second event is not a SessionLog START")
        sessions.append((events[1].step, [e.step for e in events[2:]]))
    if sessions[0][0] != 0 or sessions[1][0] != resumed_at + 1:
        fail(f"sessions start at {[s[0] for s in sessions]}, expected 0 and {resumed_at + 1}")
    if max(sessions[0][1]) <= resumed_at:
        fail(f"the first session wrote nothing after {resumed_at}: the test does not exercise the purge")

    acc = EventAccumulator(str(run), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    tags = acc.Tags()
    lines = [json.loads(l) for l in (run / "stats.jsonl").read_text().splitlines()]
    expected = expected_series(lines, tags["scalars"])
    if sorted(tags["scalars"]) != sorted(expected):
        fail(f"scalar tags {sorted(tags['scalars'])}, expected {sorted(expected)}")
    points = 0
    for tag, want in expected.items():
        got = acc.Scalars(tag)
        steps = [s.step for s in got]
        if steps != sorted(want):
            fail(f"{tag}: steps {steps}, stats.jsonl has {sorted(want)}")
        for s in got:
            if np.float32(s.value) != np.float32(want[s.step]):
                fail(f"{tag} at {s.step}: {s.value}, stats.jsonl has {want[s.step]} (float32 {np.float32(want[s.step])})")
            points += 1

    grids = sorted((run / "samples").glob("grid-*.png"))
    images = acc.Images("samples")
    if not grids or len(images) != len(grids):
        fail(f"{len(images)} images in the event files, {len(grids)} grids in samples/")
    for image, grid in zip(images, grids):
        if grid.name != f"grid-{image.step // 1000:07d}.png":
            fail(f"the image at step {image.step} has no grid: {grid.name}")
        data = grid.read_bytes()
        if (image.width, image.height) != png_size(data):
            fail(f"{grid.name}: {png_size(data)}, the event's image is {image.width} x {image.height}")
        if image.encoded_image_string != data:
            fail(f"{grid.name} differs from the event's image at step {image.step}")

    print(f"TensorBoard read {len(files)} event files: {points} scalar points equal to stats.jsonl, "
          f"{len(images)} images ({images[0].width} x {images[0].height}) equal to samples/")
    print("scalar tags: " + " ".join(sorted(tags["scalars"])))


if __name__ == "__main__":
    main()
