#!/usr/bin/env python3
"""Export a SAMRI (or SAM ViT-B) checkpoint as the two ONNX files siamize prompt runs.

Run where PyTorch, the `onnx` package and a clone of SAMRI (its
`segment_anything/` package; facebookresearch/segment-anything works the same)
are available. Not run by siamize's tests.

    python3 scripts/export/export_samri.py --repo ~/SAMRI --checkpoint samri_vitb.pth \\
        --encoder samri_vit_b_encoder.onnx --decoder samri_vit_b_decoder.onnx
    siamize prompt -i slice.nii.gz -o out/ --box 100 50 165 125 \\
        -M samri_vit_b_encoder.onnx,samri_vit_b_decoder.onnx

Or copy both files into the weights cache (`~/.cache/siamize/models`, or
$SIAMIZE_CACHE_DIR) under those names and leave out -M.

- encoder: `model.image_encoder` alone, traced under `torch.no_grad()`, input
  `input_image` 1x3x1024x1024 float32 (after SAM's normalisation and padding),
  output `image_embeddings` 1x256x64x64; opset 17. The four global-attention
  blocks are traced `--chunk-rows` query token rows at a time (default 8 of
  64): each chunk's scores, relative positions, softmax and product with V,
  then the chunks concatenated. Each value is computed as in one piece (a
  softmax is over one query's keys), but a block's score tensors hold
  12x512x4096 floats instead of 12x4096x4096 (805 MB each), which cuts the
  encoder's peak memory and, where fresh memory is dear, its time.
  `--chunk-rows 64` exports SAM's attention unchanged.
- decoder: SAM's `SamOnnxModel` with `return_single_mask=False` (siamize takes
  mask 0, which is SAMRI's `multimask_output=False`; with True, a box alone
  would give the best of masks 1-3 instead), inputs `image_embeddings,
  point_coords [1,N,2], point_labels [1,N], mask_input, has_mask_input,
  orig_im_size`, outputs `masks [1,4,H,W], iou_predictions [1,4],
  low_res_masks [1,4,256,256]`; N, H, W dynamic; opset 17.

SAMRI's own `build_sam` calls `Path(checkpoint)` before testing for None and
may offer to download weights interactively; this script loads the state dict
itself into `sam_model_registry["vit_b"](checkpoint=None)` instead.
"""
import argparse
import sys
import warnings

import torch


def chunked_global_attention(attn, get_rel_pos, rows):
    """SAM's `Attention.forward` with the queries taken `rows` token rows at a time.

    Same operations as `Attention.forward` and `add_decomposed_rel_pos` in
    segment_anything/modeling/image_encoder.py, on a slice of the queries:
    the scaled q @ k^T, the relative-position terms from the unscaled q, the
    softmax over the keys and the product with V.
    """

    def forward(x):
        B, H, W, _ = x.shape
        heads = attn.num_heads
        qkv = attn.qkv(x).reshape(B, H * W, 3, heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.reshape(3, B * heads, H * W, -1).unbind(0)
        dim = q.shape[-1]
        k_t = k.transpose(-2, -1)
        rel_h_table = get_rel_pos(H, H, attn.rel_pos_h)
        rel_w_table = get_rel_pos(W, W, attn.rel_pos_w)
        r_q = q.reshape(B * heads, H, W, dim)
        outs = []
        for r0 in range(0, H, rows):
            r1 = min(r0 + rows, H)
            n = r1 - r0
            q_c = r_q[:, r0:r1]
            scores = (q_c.reshape(B * heads, n * W, dim) * attn.scale) @ k_t
            rel_h = torch.einsum("bhwc,hkc->bhwk", q_c, rel_h_table[r0:r1])
            rel_w = torch.einsum("bhwc,wkc->bhwk", q_c, rel_w_table)
            scores = (scores.view(B * heads, n, W, H, W) + rel_h[:, :, :, :, None]
                      + rel_w[:, :, :, None, :]).view(B * heads, n * W, H * W)
            outs.append(scores.softmax(dim=-1) @ v)
        x = torch.cat(outs, dim=1).view(B, heads, H, W, -1).permute(0, 2, 3, 1, 4).reshape(B, H, W, -1)
        return attn.proj(x)

    return forward


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repo", required=True, help="clone of SAMRI (or segment-anything)")
    ap.add_argument("--checkpoint", required=True, help="SAMRI/SAM ViT-B checkpoint (.pth state dict)")
    ap.add_argument("--encoder", required=True, help="output: image encoder ONNX")
    ap.add_argument("--decoder", required=True, help="output: prompt decoder ONNX")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--chunk-rows", type=int, default=8,
                    help="query token rows per chunk in the global-attention blocks (64: one piece, as SAM)")
    a = ap.parse_args()

    sys.path.insert(0, a.repo)
    from segment_anything import sam_model_registry  # noqa: E402 (needs --repo on the path)
    from segment_anything.utils.onnx import SamOnnxModel  # noqa: E402
    from segment_anything.modeling.image_encoder import get_rel_pos  # noqa: E402

    sam = sam_model_registry["vit_b"](checkpoint=None)
    state = torch.load(a.checkpoint, map_location="cpu")
    if isinstance(state, dict) and "model" in state and not any(k.startswith("image_encoder") for k in state):
        state = state["model"]
    missing, unexpected = sam.load_state_dict(state, strict=False)
    if missing or unexpected:
        sys.exit(f"{a.checkpoint}: not a SAM ViT-B state dict (missing {missing[:3]}, unexpected {unexpected[:3]})")
    sam.eval()
    if a.chunk_rows < 1:
        sys.exit(f"--chunk-rows {a.chunk_rows}: give a whole number of rows, 1 or more")
    for block in sam.image_encoder.blocks:
        if block.window_size == 0 and block.attn.use_rel_pos:
            block.attn.forward = chunked_global_attention(block.attn, get_rel_pos, a.chunk_rows)

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x = torch.zeros(1, 3, 1024, 1024)
        torch.onnx.export(sam.image_encoder, x, a.encoder, opset_version=a.opset,
                          input_names=["input_image"], output_names=["image_embeddings"],
                          do_constant_folding=True)

        onnx_model = SamOnnxModel(sam, return_single_mask=False)
        dynamic_axes = {"point_coords": {1: "num_points"}, "point_labels": {1: "num_points"}}
        embed_dim = sam.prompt_encoder.embed_dim
        embed_size = sam.prompt_encoder.image_embedding_size
        mask_input_size = [4 * x for x in embed_size]
        dummy = {
            "image_embeddings": torch.randn(1, embed_dim, *embed_size, dtype=torch.float),
            "point_coords": torch.randint(low=0, high=1024, size=(1, 5, 2), dtype=torch.float),
            "point_labels": torch.randint(low=0, high=4, size=(1, 5), dtype=torch.float),
            "mask_input": torch.randn(1, 1, *mask_input_size, dtype=torch.float),
            "has_mask_input": torch.tensor([1], dtype=torch.float),
            "orig_im_size": torch.tensor([1500, 2250], dtype=torch.float),
        }
        torch.onnx.export(onnx_model, tuple(dummy.values()), a.decoder, opset_version=a.opset,
                          input_names=list(dummy.keys()),
                          output_names=["masks", "iou_predictions", "low_res_masks"],
                          dynamic_axes=dynamic_axes, do_constant_folding=True)
    print(f"wrote {a.encoder} and {a.decoder}")


if __name__ == "__main__":
    main()
