/**
 * Opening a scan or a label volume for the page: read with the CLI's
 * readers (so a broken file gets the CLI's one-line error), then served to
 * NiiVue as NIfTI — the file itself, or, for JNIfTI (`.jnii`, `.bnii`),
 * its NIfTI copy in the server's temp folder.
 *
 * @module
 */
import { basename, join } from "../core/_std.ts";
import type { Volume } from "../core/types.ts";
import type { ModelCard } from "../cards/card.ts";
import { encodeVolume, formatOf, readVolume } from "../io/read.ts";
import { tissueVolumes, type VolumeRow } from "../outputs/volumes.ts";
import { FileRegistry, type ServedFile } from "./files.ts";

/** A volume opened for the page. */
export interface Opened {
  /** The path the user gave. */
  path: string;
  /** Its file name. */
  name: string;
  /** The volume as read. */
  volume: Volume;
  /** The NIfTI NiiVue loads (the file itself, or a copy). */
  served: ServedFile;
}

let copies = 0;

/** Reads `path` as the CLI would and registers a NIfTI of it in `files`; JNIfTI gets a copy in `folder`. */
export async function openVolume(path: string, files: FileRegistry, folder: string): Promise<Opened> {
  const volume = await readVolume(path);
  const name = basename(path);
  if (formatOf(path) === "nii") return { path, name, volume, served: files.add(path) };
  const copy = join(folder, `open${++copies}`, `${name.replace(/\.[^.]*$/, "")}.nii`);
  await Deno.mkdir(join(copy, ".."), { recursive: true });
  await Deno.writeFile(copy, await encodeVolume(copy, volume));
  return { path, name, volume, served: files.add(copy) };
}

/** Volumes (mL) of a label volume opened with `--labels`, with the card's table. */
export function labelVolumes(labels: Opened, card: ModelCard): VolumeRow {
  return tissueVolumes(labels.volume, card.classes, card.intracranial, labels.name);
}
