/**
 * Counts the frames of an animated GIF or WebP, the quantity IMM bills, from the file's own structure: GIF image
 * descriptors (walking the block structure, so no byte inside image data is mistaken for one), WebP ANMF chunks
 * (a still WebP is one frame). sharp would do it, but it is a native module the functions cannot ship; this reads
 * only the container, never pixels. Returns undefined for anything that is neither.
 */
export function countAnimationFrames(bytes: Uint8Array): number | undefined {
  if (ascii(bytes, 0, 6) === 'GIF87a' || ascii(bytes, 0, 6) === 'GIF89a') return gifFrames(bytes);
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return webpFrames(bytes);
  return undefined;
}

function ascii(bytes: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...bytes.subarray(from, to));
}

function gifFrames(bytes: Uint8Array): number | undefined {
  const packed = bytes[10];
  if (packed === undefined) return undefined;
  // Header (6) + logical screen descriptor (7) + global colour table when its flag is set.
  let at = 13 + (packed & 0x80 ? 3 * 2 ** ((packed & 0x07) + 1) : 0);
  let frames = 0;
  const skipSubBlocks = () => {
    for (let size = bytes[at]; size !== undefined && size !== 0; size = bytes[at]) at += size + 1;
    at += 1;
  };
  while (at < bytes.length) {
    const block = bytes[at];
    if (block === 0x3b) return frames;
    if (block === 0x21) {
      at += 2;
      skipSubBlocks();
    } else if (block === 0x2c) {
      frames++;
      const flags = bytes[at + 9] ?? 0;
      at += 10 + (flags & 0x80 ? 3 * 2 ** ((flags & 0x07) + 1) : 0) + 1;
      skipSubBlocks();
    } else {
      return undefined;
    }
  }
  // A file cut short of its trailer is not a valid GIF.
  return undefined;
}

function webpFrames(bytes: Uint8Array): number | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let frames = 0;
  let still = false;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const type = ascii(bytes, at, at + 4);
    const size = view.getUint32(at + 4, true);
    if (type === 'ANMF') frames++;
    if (type === 'VP8 ' || type === 'VP8L') still = true;
    // Chunks are padded to an even size.
    at += 8 + size + (size % 2);
  }
  return frames > 0 ? frames : still ? 1 : undefined;
}
