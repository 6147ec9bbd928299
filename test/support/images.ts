// Real images for tests, built here because no image encoder is installed. PNGs are complete and
// valid (IHDR, a deflated IDAT, IEND, real CRCs); JPEGs and WebPs are the headers a decoder reads
// first, which is all the gateway's checks (image-size) read. The low-level builders are exported
// too, for the tests that take headers apart.
import { crc32, deflateSync } from 'node:zlib';

export function u32be(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
}

export function u16be(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return b;
}

function u32le(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return b;
}

function u24le(value: number): Buffer {
  return u32le(value).subarray(0, 3);
}

/** The bytes in an ArrayBuffer of their own, as a File's arrayBuffer() gives them (and a Blob part must be). */
export function exact(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Length, type and CRC around a PNG chunk's data. */
const PNG_CHUNK_OVERHEAD = 12;
/**
 * A private ancillary chunk type (lower-case first and second letters): decoders skip it, so it
 * can hold filler that makes a valid PNG as large as a test needs.
 */
const PNG_PADDING_CHUNK = 'paDd';

function pngChunk(type: string, data: Buffer): Buffer {
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  return Buffer.concat([u32be(data.length), typeAndData, u32be(crc32(typeAndData))]);
}

/**
 * A complete grey PNG: 8-bit greyscale, every row filter 0 and black. With `padToBytes`, a chunk of
 * filler before IEND makes it exactly that long (at least the plain PNG plus 12 bytes, or exactly it).
 */
export function pngBytes(width: number, height: number, padToBytes?: number): Uint8Array<ArrayBuffer> {
  const ihdr = pngChunk('IHDR', Buffer.concat([u32be(width), u32be(height), Buffer.from([8, 0, 0, 0, 0])]));
  const idat = pngChunk('IDAT', deflateSync(Buffer.alloc(height * (1 + width))));
  const iend = pngChunk('IEND', Buffer.alloc(0));
  const plainLength = PNG_SIGNATURE.length + ihdr.length + idat.length + iend.length;
  if (padToBytes === undefined || padToBytes === plainLength) return exact(Buffer.concat([PNG_SIGNATURE, ihdr, idat, iend]));
  const fillerLength = padToBytes - plainLength - PNG_CHUNK_OVERHEAD;
  if (fillerLength < 0) {
    throw new RangeError(`a ${width}×${height} PNG is ${plainLength} bytes: it pads to ${plainLength} or at least ${plainLength + PNG_CHUNK_OVERHEAD}`);
  }
  const padding = pngChunk(PNG_PADDING_CHUNK, Buffer.alloc(fillerLength, 0x2a));
  return exact(Buffer.concat([PNG_SIGNATURE, ihdr, idat, padding, iend]));
}

export function jpegSegment(marker: number, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0xff, marker]), u16be(data.length + 2), data]);
}

export const JFIF_APP0 = jpegSegment(0xe0, Buffer.from([0x4a, 0x46, 0x49, 0x46, 0x00, 1, 1, 0, 0, 1, 0, 1, 0, 0]));

/** A baseline frame header (SOF0) with one component. */
export function jpegFrame(width: number, height: number, marker = 0xc0): Buffer {
  return jpegSegment(marker, Buffer.concat([Buffer.from([8]), u16be(height), u16be(width), Buffer.from([1, 1, 0x11, 0])]));
}

/** An APP1 EXIF segment whose only IFD0 entry is Orientation (big-endian TIFF). */
export function exifOrientation(orientation: number): Buffer {
  const tiff = Buffer.concat([
    Buffer.from('MM', 'latin1'),
    u16be(42),
    u32be(8),
    u16be(1),
    Buffer.concat([u16be(0x0112), u16be(3), u32be(1), u16be(orientation), u16be(0)]),
    u32be(0),
  ]);
  return jpegSegment(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]));
}

/** SOI, the given segments, EOI. */
export function jpeg(...segments: Buffer[]): Uint8Array<ArrayBuffer> {
  return exact(Buffer.concat([Buffer.from([0xff, 0xd8]), ...segments, Buffer.from([0xff, 0xd9])]));
}

/** A JFIF JPEG of that size: APP0, then a baseline frame header. */
export function jpegBytes(width: number, height: number): Uint8Array<ArrayBuffer> {
  return jpeg(JFIF_APP0, jpegFrame(width, height));
}

export function riffWebp(chunkType: string, chunk: Buffer): Uint8Array<ArrayBuffer> {
  const padded = chunk.length % 2 === 0 ? chunk : Buffer.concat([chunk, Buffer.alloc(1)]);
  const body = Buffer.concat([Buffer.from('WEBP', 'latin1'), Buffer.from(chunkType, 'latin1'), u32le(chunk.length), padded]);
  return exact(Buffer.concat([Buffer.from('RIFF', 'latin1'), u32le(body.length), body]));
}

/** Extended WebP: the VP8X chunk carries the canvas size. */
export function webpExtended(width: number, height: number, flags = 0): Uint8Array<ArrayBuffer> {
  return riffWebp('VP8X', Buffer.concat([Buffer.from([flags, 0, 0, 0]), u24le(width - 1), u24le(height - 1)]));
}

/** Lossy WebP: a key frame's tag, start code and 14-bit sizes. */
export function webpLossy(width: number, height: number): Uint8Array<ArrayBuffer> {
  const size = Buffer.alloc(4);
  size.writeUInt16LE(width, 0);
  size.writeUInt16LE(height, 2);
  return riffWebp('VP8 ', Buffer.concat([Buffer.from([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a]), size]));
}

/** Lossless WebP: signature 0x2f, then width − 1 and height − 1 in 14 bits each. */
export function webpLossless(width: number, height: number): Uint8Array<ArrayBuffer> {
  return riffWebp('VP8L', Buffer.concat([Buffer.from([0x2f]), u32le((width - 1) | ((height - 1) << 14))]));
}

/** A WebP of that size (extended, whose VP8X chunk holds the canvas size). */
export function webpBytes(width: number, height: number): Uint8Array<ArrayBuffer> {
  return webpExtended(width, height);
}

/** A GIF89a header of that size: a real format the gateway does not take. */
export function gifBytes(width: number, height: number): Uint8Array<ArrayBuffer> {
  const size = Buffer.alloc(4);
  size.writeUInt16LE(width, 0);
  size.writeUInt16LE(height, 2);
  return exact(Buffer.concat([Buffer.from('GIF89a', 'latin1'), size, Buffer.from([0, 0, 0]), Buffer.from([0x3b])]));
}

/** `data:<mediaType>;base64,…` of the bytes. */
export function dataUri(mediaType: string, bytes: Uint8Array): string {
  return `data:${mediaType};base64,${Buffer.from(bytes).toString('base64')}`;
}

/** A PNG (see pngBytes) as a base64 data URI. */
export function pngDataUri(width: number, height: number, padToBytes?: number): string {
  return dataUri('image/png', pngBytes(width, height, padToBytes));
}
