#!/usr/bin/env python3
"""Export the MONAI model-zoo bundle `wholeBody_ct_segmentation` network to ONNX for siamize.

Run where PyTorch and MONAI are installed (not run by siamize's tests):

    python -m monai.bundle download wholeBody_ct_segmentation --bundle_dir bundles
    python3 scripts/export/export_monai_wholebody_ct.py bundles/wholeBody_ct_segmentation -o segresnet_torch.onnx
    python3 scripts/export/export_monai_wholebody_ct.py bundles/wholeBody_ct_segmentation --lowres -o segresnet_3mm_torch.onnx

The result (input `image` [N, 1, D, H, W], output `logits` [N, 105, D, H, W],
dynamic batch and spatial axes) runs as it is (`siamize --card
monai-wholebody-ct -M segresnet_torch.onnx ...`). Optionally rebuild it with
siamize's graph, which writes GroupNorm as a two-level mean (torch.onnx emits
InstanceNormalization, which ONNX Runtime's CPU kernel computes less
accurately on large tiles: 2e-4 vs 2e-6 at 96^3 x 32 channels):

    deno task make-model --preset segresnet --weights segresnet_torch.onnx -o monai-wholebody-ct.onnx

Opset 17: the newest opset below 18, whose GroupNormalization op (per-group
affine, replaced in opset 21) torch would otherwise be tempted to use; every op
of this network (Conv, InstanceNormalization, Relu, Resize linear/half_pixel)
is plain in opset 17, and siamize's own generated models use it too.
"""
import argparse
import inspect
import json
import os


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bundle", help="the downloaded bundle folder (has configs/ and models/)")
    ap.add_argument("-o", "--output", required=True, help="ONNX file to write")
    ap.add_argument("--lowres", action="store_true", help="the 3.0 mm weights (models/model_lowres.pt)")
    ap.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    a = ap.parse_args()  # before the heavy imports: --help works without PyTorch

    import torch
    from monai.networks.nets import SegResNet

    # The network exactly as the bundle's inference.json defines it (dropout is inactive in eval mode).
    with open(os.path.join(a.bundle, "configs", "inference.json")) as f:
        net_def = {k: v for k, v in json.load(f)["network_def"].items() if k != "_target_"}
    net = SegResNet(**net_def)
    weights = os.path.join(a.bundle, "models", "model_lowres.pt" if a.lowres else "model.pt")
    state = torch.load(weights, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "model" in state:  # CheckpointLoader format {"model": state_dict}
        state = state["model"]
    net.load_state_dict(state)
    net.eval()

    axes = {0: "batch", 2: "D", 3: "H", 4: "W"}
    kwargs = dict(
        input_names=["image"],
        output_names=["logits"],
        dynamic_axes={"image": axes, "logits": axes},
        opset_version=a.opset,
        do_constant_folding=True,
    )
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # the TorchScript exporter keeps state-dict names on the initialisers
    x = torch.zeros(1, net_def.get("in_channels", 1), 96, 96, 96)
    with torch.no_grad():
        torch.onnx.export(net, (x,), a.output, **kwargs)
    n = sum(p.numel() for p in net.parameters())
    print(f"{a.output}: SegResNet {net_def}, {n:,} parameters, opset {a.opset}")


if __name__ == "__main__":
    main()
