// What kind of samples a TIFF holds, read from its first directory: sharp (libvips) reports a TIFF of 64-bit
// floating-point samples as a "corrupt header", which would send a user looking for damage that is not there.

const SAMPLE_FORMATS: Record<number, string> = { 1: 'unsigned integer', 2: 'signed integer', 3: 'floating-point', 5: 'complex integer', 6: 'complex floating-point' };

/** `64-bit floating-point` for such a TIFF; undefined for anything else or a header it cannot read. */
export function tiffSamples(bytes: Uint8Array): { bits: number; format: string; pages: number } | undefined {
  if (bytes.length < 8) return undefined;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = b.toString('latin1', 0, 2) === 'II';
  if (!le && b.toString('latin1', 0, 2) !== 'MM') return undefined;
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  if (u16(2) !== 42) return undefined; // BigTIFF (43) and others: not read here
  let ifd = u32(4);
  let bits = 8;
  let format = 1;
  let pages = 0;
  const seen = new Set<number>();
  while (ifd > 0 && ifd + 2 <= b.length && !seen.has(ifd) && pages < 10_000) {
    seen.add(ifd);
    const n = u16(ifd);
    if (ifd + 2 + n * 12 + 4 > b.length) break;
    if (pages === 0) {
      for (let i = 0; i < n; i++) {
        const e = ifd + 2 + i * 12;
        const tag = u16(e);
        const type = u16(e + 2);
        const count = u32(e + 4);
        // A SHORT value sits in the entry itself; with several samples, the first of the values is enough here.
        const value = type === 3 ? (count <= 2 ? u16(e + 8) : u16(u32(e + 8))) : u32(e + 8);
        if (tag === 258) bits = value;
        if (tag === 339) format = value;
      }
    }
    pages++;
    ifd = u32(ifd + 2 + n * 12);
  }
  if (!pages) return undefined;
  return { bits, format: SAMPLE_FORMATS[format] ?? `sample format ${format}`, pages };
}
