#!/usr/bin/env python3
"""Export small PyTorch models to ONNX as test data for panther's ONNX front end.

Each model is built with a fixed seed, exported by torch.onnx.export at opsets
9, 11, 13 and 17, and written with one input and PyTorch's output in the layout
of the ONNX test data sets (and Debian's libonnx-testdata):

    DIR/NAME_opsetK/model.onnx
    DIR/NAME_opsetK/test_data_set_0/input_0.pb    (ONNX TensorProto, float32)
    DIR/NAME_opsetK/test_data_set_0/output_0.pb

The models cover what PyTorch emits for common layers that the exporter does
not fold away itself: BatchNorm1d between Linear layers and before one,
BatchNorm2d after and before a Conv2d, AvgPool2d with count_include_pad=True
and padding (Pad then AveragePool), MaxPool2d, and x.view(x.size(0), -1)
(Shape/Gather/Unsqueeze/Concat/Reshape where the batch size is dynamic), and
ZeroPad2d before a Conv2d (from opset 11 on, Pad with amounts computed by
ConstantOfShape, Concat, Reshape, Slice, Transpose and Cast).

Usage (Debian: apt-get install python3-torch python3-numpy):

    /usr/bin/python3 scripts/export-onnx-testdata.py [DIR]

DIR defaults to compiler/testdata/pytorch. The tests read the committed files
and need no PyTorch.
"""

import io
import os
import struct
import sys

import torch
from torch import nn

OPSETS = (9, 11, 13, 17)


def tensor_proto(name, t):
    """Serialise a float32 tensor as an ONNX TensorProto (dims, data_type,
    name, raw_data: fields 1, 2, 8 and 9) without the onnx package."""

    def varint(v):
        out = bytearray()
        while True:
            b = v & 0x7F
            v >>= 7
            if v:
                out.append(b | 0x80)
            else:
                out.append(b)
                return bytes(out)

    def field(num, wire, payload):
        return varint(num << 3 | wire) + payload

    t = t.detach().contiguous().to(torch.float32)
    raw = struct.pack("<%df" % t.numel(), *t.flatten().tolist())
    out = b"".join(field(1, 0, varint(d)) for d in t.shape)
    out += field(2, 0, varint(1))  # FLOAT
    out += field(8, 2, varint(len(name)) + name.encode())
    out += field(9, 2, varint(len(raw)) + raw)
    return out


def randomise_batchnorm(m, gen):
    """Give every batch norm non-trivial statistics and affine parameters, as
    a trained network has, so that folding them is tested."""
    for mod in m.modules():
        if isinstance(mod, nn.modules.batchnorm._BatchNorm):
            n = mod.num_features
            with torch.no_grad():
                mod.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
                mod.running_var.copy_(0.5 + 1.5 * torch.rand(n, generator=gen))
                mod.weight.copy_(0.5 + torch.rand(n, generator=gen))
                mod.bias.copy_(0.5 * (torch.rand(n, generator=gen) - 0.5))


class ViewFlatten(nn.Module):
    """x.view(x.size(0), -1), the flatten PyTorch code writes by hand."""

    def forward(self, x):
        return x.view(x.size(0), -1)


def models():
    """(name, module, input shape, dynamic batch, keep batch norm) per model."""
    yield "mlp_bn", nn.Sequential(
        nn.Linear(12, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.25), nn.Linear(16, 4)
    ), (4, 12), False, False
    # PRESERVE keeps a BatchNorm2d right after a Conv2d, which the exporter
    # would otherwise fold itself; the batch size is dynamic, so view()
    # exports as Shape/Gather/Unsqueeze/Concat/Reshape.
    yield "cnn_bn_avgpool", nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.AvgPool2d(2, stride=2, padding=1, count_include_pad=True),
        ViewFlatten(), nn.Linear(64, 5),
    ), (3, 2, 6, 6), True, True
    yield "cnn_maxpool_bn", nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.BatchNorm1d(27), nn.Linear(27, 4),
    ), (2, 1, 6, 6), False, False
    yield "bn_conv", nn.Sequential(
        nn.BatchNorm2d(2), nn.Conv2d(2, 3, 3), nn.ReLU(), ViewFlatten(), nn.Linear(27, 3),
    ), (2, 2, 5, 5), False, False
    yield "zeropad_conv", nn.Sequential(
        nn.ZeroPad2d(1), nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(108, 3),
    ), (2, 1, 6, 6), False, False


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join("compiler", "testdata", "pytorch")
    for seed, (name, m, shape, dynamic, keep_bn) in enumerate(models()):
        gen = torch.Generator().manual_seed(1000 + seed)
        torch.manual_seed(1000 + seed)
        for mod in m.modules():  # re-draw the parameters from the seed
            if hasattr(mod, "reset_parameters"):
                mod.reset_parameters()
        randomise_batchnorm(m, gen)
        m.eval()
        x = torch.randn(*shape, generator=gen)
        with torch.no_grad():
            y = m(x)
        for opset in OPSETS:
            d = os.path.join(out, "%s_opset%d" % (name, opset))
            os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
            buf = io.BytesIO()
            kw = {}
            if dynamic:
                kw["dynamic_axes"] = {"x": {0: "batch"}, "y": {0: "batch"}}
            mode = torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL
            torch.onnx.export(m, x, buf, opset_version=opset, training=mode,
                              input_names=["x"], output_names=["y"], **kw)
            with open(os.path.join(d, "model.onnx"), "wb") as f:
                f.write(buf.getvalue())
            with open(os.path.join(d, "test_data_set_0", "input_0.pb"), "wb") as f:
                f.write(tensor_proto("x", x))
            with open(os.path.join(d, "test_data_set_0", "output_0.pb"), "wb") as f:
                f.write(tensor_proto("y", y))
            print("%s: %d bytes" % (d, len(buf.getvalue())))


if __name__ == "__main__":
    main()
