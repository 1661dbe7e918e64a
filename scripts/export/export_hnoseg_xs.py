#!/usr/bin/env python3
"""Export trained HNOSeg-XS weights (IBM multimodal-3d-image-segmentation) for siamize.

Run where PyTorch, the `onnx` package and a clone of
https://github.com/IBM/multimodal-3d-image-segmentation are available (not run
by siamize's tests). `model.pt` is what the IBM training writes
(`<output_dir>/model/model.pt`, a state dict):

    python3 scripts/export/export_hnoseg_xs.py --repo ~/multimodal-3d-image-segmentation \\
        --checkpoint model.pt -o hnoseg_xs_weights.onnx
    deno task make-model --preset hnoseg-xs --weights hnoseg_xs_weights.onnx -o hnoseg-xs.onnx

The first step writes the state dict as float32 ONNX initialisers under their
PyTorch names (a graph without nodes); make-model then builds siamize's graph
with them: Hartley transforms as cos/sin matrix products over the kept
frequencies, which ONNX Runtime runs ~10x faster than its DFT op, for any
spatial size. Output: logits (labels are their argmax; no softmax needed).

`--torch-onnx FILE` additionally tries torch.onnx.export of the module itself
(dynamo exporter, opset 18, the lowest it emits; FFTs become DFT ops): a
reference to compare against, slow in ONNX Runtime.
"""
import argparse
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repo", required=True, help="clone of IBM/multimodal-3d-image-segmentation")
    ap.add_argument("--checkpoint", required=True, help="model.pt (state dict) or checkpoint.pt")
    ap.add_argument("-o", "--output", required=True, help="weights-only ONNX file for make-model --weights")
    ap.add_argument("--torch-onnx", help="also write torch.onnx.export of the whole module here")
    a = ap.parse_args()  # before the heavy imports: --help works without PyTorch

    import numpy as np
    import torch

    sys.path.insert(0, a.repo)
    from nets.hnosegxs import HNOSegXS  # noqa: E402 (needs --repo on the path)

    # config_hnoseg_xs.ini: t1c, t1n, t2f, t2w in; 4 labels out; 24 filters; 8 blocks of 3; modes (10, 14, 14).
    net = HNOSegXS(in_channels=4, out_channels=4, filters=24, num_transform_blocks=[3] * 8, num_modes=(10, 14, 14))
    state = torch.load(a.checkpoint, map_location="cpu", weights_only=False)
    if isinstance(state, dict) and "model_state_dict" in state:  # checkpoint.pt
        state = state["model_state_dict"]
    net.load_state_dict(state)
    net.eval()
    n = sum(p.numel() for p in net.parameters())
    if n != 28248:
        raise SystemExit(f"expected 28,248 parameters (HNOSeg-XS, BraTS'23 config), got {n:,}")

    import onnx
    from onnx import helper, numpy_helper

    inits = [numpy_helper.from_array(v.detach().cpu().numpy().astype(np.float32), name=k) for k, v in state.items()]
    graph = helper.make_graph([], "hnoseg_xs_weights", [], [], initializer=inits)
    onnx.save(helper.make_model(graph, producer_name="export_hnoseg_xs.py"), a.output)
    print(f"{a.output}: {len(inits)} tensors, {n:,} parameters")

    if a.torch_onnx:
        axes = {0: "batch", 2: "D", 3: "H", 4: "W"}
        x = torch.zeros(1, 4, 155, 240, 240)
        net.output_activation = lambda t: t  # logits, like siamize's graph
        torch.onnx.export(net, (x,), a.torch_onnx, input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": axes, "logits": axes}, opset_version=18, dynamo=True)
        print(f"{a.torch_onnx}: torch.onnx export (opset 18, DFT)")


if __name__ == "__main__":
    main()
