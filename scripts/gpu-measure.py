#!/usr/bin/env python3
"""Measure the training step of panther eval's workloads on a GPU with PyTorch
and write the CSV that `panther eval --gpu-csv` reads.

One step is what panther eval simulates: forward, softmax cross-entropy,
backward and a plain SGD update of one batch, FP32, on inputs already on the
card. The step time is the mean over the timed steps: at least --steps of them
and at least --min-seconds, after --warmup untimed ones, with the card
synchronised before and after. Board power is sampled with nvidia-smi every
20 ms; the CSV gives the mean of the samples taken while the timed steps ran
(power_watts), which panther eval multiplies by the step time. On a machine
without nvidia-smi, pass --power-watts to state a figure, or the script stops.
The file is rewritten after every measurement, so an interrupted run keeps the
finished ones.

Usage:
  python3 scripts/gpu-measure.py --out gpu.csv
  python3 scripts/gpu-measure.py --workloads mlp-l4,vgg16 --batches 1,16 --out gpu.csv
  panther eval --gpu-csv gpu.csv
"""
import argparse
import csv
import datetime
import shutil
import subprocess
import sys
import threading
import time

import torch
import torch.nn as nn

# The workloads of panther eval (docs/reproduction.md), by the same names.
MLPS = {
    "mlp": [784, 256, 128, 10],
    "mlp-l4": [1024, 256, 512, 512, 10],
    "mlp-big": [1024, 512, 1024, 768, 10],
}
VGG_LAYERS = {  # unrolled conv layers: a dense layer, then a 10-way classifier
    "vgg-a": (4608, 512), "vgg-b": (2304, 256), "vgg-c": (2304, 512), "vgg-d": (512, 4096),
    "vgg-e": (4096, 512), "vgg-f": (4096, 10), "vgg-g": (1152, 256),
}
VGG16_BLOCKS = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]


def mlp(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def vgg16():
    layers, c = [], 3
    for block in VGG16_BLOCKS:
        for out in block:
            layers += [nn.Conv2d(c, out, 3, padding=1), nn.ReLU()]
            c = out
        layers.append(nn.MaxPool2d(2))
    layers += [nn.Flatten(), nn.Linear(512, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 10)]
    return nn.Sequential(*layers)


def workload(name):
    """Returns the network and the shape of one input example."""
    if name in MLPS:
        return mlp(MLPS[name]), (MLPS[name][0],)
    if name in VGG_LAYERS:
        rows, out = VGG_LAYERS[name]
        return (mlp([rows, 10]) if out == 10 else mlp([rows, out, 10])), (rows,)
    if name == "vgg16":
        return vgg16(), (3, 32, 32)
    sys.exit(f"workload {name!r}: want one of {', '.join([*MLPS, *VGG_LAYERS, 'vgg16'])}")


class PowerSampler:
    """Samples the board power of one GPU with nvidia-smi in the background,
    each sample with the monotonic time it arrived."""

    def __init__(self, index):
        self.index, self.samples, self.stop = index, [], threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        cmd = ["nvidia-smi", f"--id={self.index}", "--query-gpu=power.draw", "--format=csv,noheader,nounits",
               "--loop-ms=20"]
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as p:
            for line in p.stdout:
                try:
                    self.samples.append((time.monotonic(), float(line.strip())))
                except ValueError:
                    pass
                if self.stop.is_set():
                    p.terminate()
                    break

    def start(self):
        self.thread.start()
        deadline = time.monotonic() + 5
        while not self.samples and time.monotonic() < deadline:
            time.sleep(0.01)  # time only once power is being read

    def finish(self):
        self.stop.set()
        self.thread.join(timeout=5)

    def mean(self, start, end):
        """The mean of the samples that arrived between start and end."""
        inside = [w for t, w in self.samples if start <= t <= end]
        return sum(inside) / len(inside) if inside else None


def measure(name, batch, device, steps, warmup, min_seconds, power_watts):
    """Times at least steps steps and at least min_seconds (so the power
    sampler sees the card busy), after warmup untimed ones."""
    torch.manual_seed(1)
    net, shape = workload(name)
    net = net.to(device)
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(batch, *shape, device=device)
    y = torch.randint(0, 10, (batch,), device=device)

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(net(x), y).backward()
        opt.step()

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(warmup):
        step()
    sync()
    sampler = None
    if power_watts is None:
        sampler = PowerSampler(device.index or 0)
        sampler.start()
    start, done = time.monotonic(), 0
    while done < steps or time.monotonic() - start < min_seconds:
        for _ in range(steps):
            step()
        sync()
        done += steps
    end = time.monotonic()
    if sampler is not None:
        sampler.finish()
        power_watts = sampler.mean(start, end)
        if power_watts is None:
            raise RuntimeError(f"{name} at batch {batch}: nvidia-smi gave no power sample while it ran")
    return (end - start) / done, power_watts, done


def write_csv(path, rows):
    """Writes the rows measured so far: a complete file or none."""
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["workload", "batch", "step_seconds", "power_watts", "card", "date", "method"])
        w.writerows(rows)
    shutil.move(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workloads", default="mlp-l4,mlp-big,vgg-a,vgg-b,vgg-c,vgg-d,vgg-e,vgg-f,vgg-g,vgg16")
    ap.add_argument("--batches", default="1,4,16,64")
    ap.add_argument("--steps", type=int, default=200, help="timed steps per workload and batch (at least)")
    ap.add_argument("--min-seconds", type=float, default=2.0, help="time each workload and batch at least this long")
    ap.add_argument("--warmup", type=int, default=20, help="untimed steps before them")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--power-watts", type=float, help="state the board power instead of sampling nvidia-smi")
    ap.add_argument("--out", default="gpu.csv")
    a = ap.parse_args()
    device = torch.device(a.device)
    if a.power_watts is None and shutil.which("nvidia-smi") is None:
        sys.exit("no nvidia-smi to sample board power: pass --power-watts W")
    card = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    date = datetime.date.today().isoformat()
    power = "nvidia-smi mean over the timed steps" if a.power_watts is None else f"stated {a.power_watts} W"
    rows = []
    for name in a.workloads.split(","):
        for b in (int(s) for s in a.batches.split(",")):
            try:
                seconds, watts, done = measure(name, b, device, a.steps, a.warmup, a.min_seconds, a.power_watts)
            except RuntimeError as e:
                sys.exit(f"{e}; {len(rows)} measurement(s) so far are in {a.out}" if rows else str(e))
            how = f"PyTorch {torch.__version__} FP32 SGD step, mean of {done} after {a.warmup} warm-up; power {power}"
            print(f"{name:8} batch {b:3}  {seconds * 1e6:10.1f} us/step  {watts:6.1f} W", file=sys.stderr)
            rows.append([name, b, f"{seconds:.6g}", f"{watts:.4g}", card, date, how])
            write_csv(a.out, rows)
    print(f"wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
