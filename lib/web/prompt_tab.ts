/**
 * A 2-D prompt card (SAMRI) in the browser tab, from bytes: the scan (a 2-D
 * image, or a slice `vol.take(index, axis)` of a 3-D NIfTI) and the two
 * ONNX files are picked from disk; the encoder runs once per slice and its
 * embedding stays in the page, so every further prompt on that slice runs
 * the decoder only; the mask comes back as `siamize prompt` writes it (on
 * the scan's grid for a slice of a volume, SAMRI's `(1, H, W)` otherwise).
 *
 * The stages are `lib/prompt/`'s — the input rules (`prompt_input.ts`),
 * preprocessing, prompt encoding and the {@linkcode Prompter}
 * (`prompter_core.ts`), the checks (`validate.ts`) and the writers
 * (`write.ts`) — on any {@linkcode GraphOpener}: onnxruntime-web's in the
 * page (the encoder on WebGPU where offered, else WASM; the decoder on
 * WASM), onnxruntime-node's in the tests that compare the two. The memory
 * is planned before anything is loaded ({@linkcode planPromptTabMemory}).
 *
 * @module
 */
import { InputError, SiamizeError } from "../core/errors.ts";
import type { Compute } from "../core/types.ts";
import type { GraphOpener } from "../engine/graph_session.ts";
import { parseNifti } from "../io/nifti.ts";
import { decodePng } from "../io/png_decode.ts";
import { type PromptCard, SAMRI_VIT_B } from "../prompt/card.ts";
import { isConstant } from "../prompt/preprocess.ts";
import { imagePromptInput, isRgb, type PromptInput, volumePromptInput } from "../prompt/prompt_input.ts";
import { type Prediction, Prompter } from "../prompt/prompter_core.ts";
import type { Prompt } from "../prompt/prompts.ts";
import { dims3, putSlice, type SliceRef } from "../prompt/slice.ts";
import { checkPrompt } from "../prompt/validate.ts";
import { gridNifti, samriNifti } from "../prompt/write.ts";
import type { PickedFile } from "./segment_tab.ts";
import { planPromptTabMemory, type TabMemoryPlan } from "./tab_memory.ts";

/** Options of {@linkcode PromptTab.open}. */
export interface PromptTabOptions {
  /** Opens the sessions (onnxruntime-web's `ortWebGraphOpener` in the page). */
  open: GraphOpener;
  /** The card. @default SAMRI's (`models/samri-vit-b.json`) */
  card?: PromptCard;
  /** The encoder's provider (the decoder runs on the CPU: WASM). @default "auto" */
  encoderCompute?: Compute;
  /** Limits of the memory plan. @default a tab's (4 GiB WASM heap) */
  limits?: { wasm?: number; arrays?: number };
}

/** One prompt's outcome. */
export interface PromptTabResult extends Prediction {
  /** Whether the encoder ran for this prompt (false: the slice's embedding was kept). */
  encoded: boolean;
  /** Seconds: the encoder (0 when it did not run) and the decoder. */
  seconds: { encoder: number; decoder: number };
}

const now = () => performance.now() / 1000;

/** Reads a prompt input from a picked file: NIfTI (float64, `slice` of a 3-D one) or PNG; else refused naming it. */
export async function readPromptBytes(file: PickedFile, slice?: SliceRef): Promise<PromptInput> {
  const l = file.name.toLowerCase();
  if (l.endsWith(".nii") || l.endsWith(".nii.gz")) {
    return volumePromptInput(file.name, await parseNifti(file.name, file.bytes, { float64: true }), slice);
  }
  const png = [137, 80, 78, 71, 13, 10, 26, 10];
  if (file.bytes.length >= 8 && png.every((b, i) => file.bytes[i] === b)) {
    if (slice) throw new InputError(file.name, "a slice needs a 3-D NIfTI volume, not a PNG", 64);
    return imagePromptInput(file.name, "png", await decodePng(file.bytes, file.name));
  }
  throw new InputError(file.name, "unsupported image format in the tab: give NIfTI (.nii, .nii.gz) or PNG", 65);
}

/**
 * SAMRI in a tab: {@linkcode open} with the two networks, {@linkcode load}
 * a scan (and slice), then {@linkcode predict} as often as wanted.
 */
export class PromptTab {
  /** The card. */
  readonly card: PromptCard;
  /** The memory plan of the networks (and of the scan, once loaded). */
  memory: TabMemoryPlan;
  /** How many times the encoder ran. */
  encoderRuns = 0;
  /** How many times the decoder ran. */
  decoderRuns = 0;
  #prompter: Prompter;
  #sizes: { encoder: number; decoder: number; label: string };
  #limits?: { wasm?: number; arrays?: number };
  #input?: PromptInput;
  #embedded = false;
  #onGrid = false;

  private constructor(
    card: PromptCard,
    prompter: Prompter,
    memory: TabMemoryPlan,
    o: { encoder: number; decoder: number; label: string },
  ) {
    this.card = card;
    this.#prompter = prompter;
    this.memory = memory;
    this.#sizes = o;
  }

  /**
   * Plans the memory (refused before anything is loaded when the networks
   * cannot fit a tab), then opens the decoder (checked against the card);
   * the encoder is opened, and checked, on the first slice.
   */
  static async open(encoder: PickedFile, decoder: PickedFile, o: PromptTabOptions): Promise<PromptTab> {
    const card = o.card ?? SAMRI_VIT_B;
    const sizes = { encoder: encoder.bytes.length, decoder: decoder.bytes.length, label: encoder.name };
    const memory = planPromptTabMemory(encoder.name, {
      card,
      encoderBytes: sizes.encoder,
      decoderBytes: sizes.decoder,
      limits: o.limits,
    });
    const prompter = await Prompter.open(card, {
      models: {
        encoder: { name: encoder.name, bytes: encoder.bytes },
        decoder: { name: decoder.name, bytes: decoder.bytes },
      },
      compute: "cpu",
      encoderCompute: o.encoderCompute ?? "auto",
      open: o.open,
      lazyEncoder: true,
    });
    const tab = new PromptTab(card, prompter, memory, sizes);
    tab.#limits = o.limits;
    return tab;
  }

  /** The provider of the decoder, and of the encoder once it ran. */
  get providers(): { encoder?: string; decoder: string } {
    return { encoder: this.#prompter.encoderProvider, decoder: this.#prompter.provider };
  }

  /** The input loaded last. */
  get input(): PromptInput | undefined {
    return this.#input;
  }

  /**
   * Reads the scan and takes its slice (`slice` for a 3-D NIfTI; a 2-D
   * image as SAMRI reads it), planning the page's arrays; a slice of one
   * value is refused as `siamize prompt` refuses it. The next prompt runs
   * the encoder on it.
   */
  async load(scan: PickedFile, slice?: SliceRef): Promise<PromptInput> {
    const input = await readPromptBytes(scan, slice);
    const { width: W, height: H } = input.slice;
    this.memory = planPromptTabMemory(scan.name, {
      card: this.card,
      encoderBytes: this.#sizes.encoder,
      decoderBytes: this.#sizes.decoder,
      scanVoxels: input.volume ? input.volume.data.length : W * H,
      scanFileBytes: scan.bytes.length,
      slicePixels: W * H,
      limits: this.#limits,
    });
    if (!isRgb(input.slice) && isConstant(input.slice.data)) {
      throw new SiamizeError(
        `${scan.name}: the ${slice ? `slice ${slice.axis}:${slice.index}` : "image"} (${W}x${H}) holds one value (${
          input.slice.data[0]
        }); SAMRI would segment an all-zero uint8 image`,
        65,
      );
    }
    this.#input = input;
    this.#onGrid = slice !== undefined;
    this.#embedded = false;
    return input;
  }

  /**
   * Segments the loaded slice from a prompt (checked against its size): the
   * encoder runs only if this slice has not been embedded yet.
   */
  async predict(prompt: Prompt): Promise<PromptTabResult> {
    const input = this.#input;
    if (!input) throw new SiamizeError("no scan loaded", 64);
    checkPrompt(prompt, input.slice.height, input.slice.width);
    let encoder = 0;
    const encoded = !this.#embedded;
    if (encoded) {
      const t = now();
      await this.#prompter.embed(input.slice);
      this.encoderRuns++;
      this.#embedded = true;
      encoder = now() - t;
    }
    const t = now();
    const p = await this.#prompter.predict(prompt);
    this.decoderRuns++;
    return { ...p, encoded, seconds: { encoder, decoder: now() - t } };
  }

  /**
   * The mask as `siamize prompt` writes it: on the scan's grid, set on the
   * slice only, for a slice of a 3-D volume; SAMRI's `(1, H, W)` NIfTI with
   * an identity affine for a 2-D image. Gzipped.
   */
  async maskNifti(p: Prediction): Promise<Uint8Array> {
    const input = this.#input;
    if (!input) throw new SiamizeError("no scan loaded", 64);
    if (this.#onGrid && input.volume && input.ref) {
      const d = dims3(input.volume);
      return await gridNifti(input.volume, putSlice(new Uint8Array(d[0] * d[1] * d[2]), d, input.ref, p.mask), true);
    }
    return await samriNifti(p.mask, p.height, p.width, true);
  }

  /** Frees both sessions. */
  async close(): Promise<void> {
    await this.#prompter.close();
  }
}
