// Looks at a reference image's bytes before anything is sent upstream: what format the bytes really
// are (by their magic bytes, not by what the caller says), how many bytes, and how many pixels. It
// only reads headers (through image-size); no image is decoded. One function serves uploaded Files
// and base64 data URIs alike, so both are refused for the same reasons with the same words.
//
// The bytes come from anyone, so the work is bounded by the limits, not by the input: the size is
// checked before anything is parsed, and a JPEG's marker chain is walked here, capped, before
// image-size sees it (see reachesJpegFrameHeader).
import { imageSize } from 'image-size';

export type ImageFormat = 'png' | 'jpeg' | 'webp';
export type ImageMediaType = 'image/png' | 'image/jpeg' | 'image/webp';

/**
 * The UserErrorCode values an image can be refused with. INVALID_IMAGE and IMAGE_TOO_LARGE exist
 * already; IMAGE_TOO_SMALL and IMAGE_ASPECT_RATIO are new and belong in USER_ERROR_CODES too.
 */
export type ImageProblemCode = 'INVALID_IMAGE' | 'IMAGE_TOO_LARGE' | 'IMAGE_TOO_SMALL' | 'IMAGE_ASPECT_RATIO';
export type ImageProblem = { code: ImageProblemCode; message: string };

export type InspectedImage =
  | { ok: true; format: ImageFormat; mediaType: ImageMediaType; width: number; height: number; bytes: number }
  | { ok: false; problem: ImageProblem };

export interface ImageLimits {
  /** Most bytes an image may have (IMAGE_MAX_DECODED_BYTES). */
  maxBytes: number;
  /** Fewest pixels on either side. */
  minSide: number;
  /** Greatest ratio of the long side to the short side: 4 allows 1:4 to 4:1, both included. */
  maxAspect: number;
}

/** The shape rules from the issue; the byte limit comes from configuration. */
export const IMAGE_SHAPE_LIMITS = { minSide: 128, maxAspect: 4 } as const;

const MEDIA_TYPES: Record<ImageFormat, ImageMediaType> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };
const FORMAT_NAMES: Record<ImageFormat, string> = { png: 'PNG', jpeg: 'JPEG', webp: 'WebP' };

/**
 * Declared types that name one of our formats. `image/jpg` is not a registered type, but some
 * clients and operating systems send it for .jpg files, and it cannot mean anything but JPEG.
 */
const DECLARED_FORMATS: ReadonlyMap<string, ImageFormat> = new Map([
  ['image/png', 'png'],
  ['image/jpeg', 'jpeg'],
  ['image/jpg', 'jpeg'],
  ['image/webp', 'webp'],
]);

/**
 * Declared types that claim nothing: a File with no type has '', and clients that cannot tell
 * (curl for a .webp, some upload libraries) send application/octet-stream, "some bytes". Neither
 * disagrees with the sniffed format, so neither is refused.
 */
const UNDECLARED_TYPES: ReadonlySet<string> = new Set(['', 'application/octet-stream']);

/** How much of a declared type a message repeats: enough to recognise it, never the whole of it. */
const QUOTE_MAX_CHARS = 64;

/**
 * image-size walks a JPEG's marker segments one by one, and on a broken chain it steps forward a
 * byte at a time, allocating at each step: a crafted 10 MiB "JPEG" kept it busy for 3–4 s (measured
 * on this machine). So the chain is walked here first, without allocating, and image-size only
 * runs on a JPEG whose chain reaches a frame header in at most this many segments. Real files need
 * a few dozen (APPn, DQT, DHT…); even 10 MiB of 64 KiB XMP or ICC segments is about 160.
 */
const JPEG_MAX_SEGMENTS_BEFORE_FRAME = 1024;
/** Start-of-frame markers whose header image-size reads: baseline, extended and progressive. */
const JPEG_FRAME_MARKERS: ReadonlySet<number> = new Set([0xc0, 0xc1, 0xc2]);
/** Marker (2), length (2), precision (1), height (2), width (2). */
const JPEG_FRAME_HEADER_BYTES = 9;
/** The chunk a WebP starts with: lossy, lossless, or extended (which carries the canvas size). */
const WEBP_IMAGE_CHUNKS: ReadonlySet<string> = new Set(['VP8 ', 'VP8L', 'VP8X']);

/** Sniffs and measures raw bytes; `declaredType` (a File's type or a data URI's media type, may be '' / undefined) must agree with the sniffed format when given. */
export function inspectImage(bytes: Uint8Array, declaredType: string | undefined, limits: ImageLimits): InspectedImage {
  // Before anything is parsed: the limit, not the input, bounds the work.
  if (bytes.length > limits.maxBytes) {
    return refuse('IMAGE_TOO_LARGE', `Image is ${bytes.length} bytes; images must be at most ${limits.maxBytes} bytes.`);
  }
  const format = sniffFormat(bytes);
  if (format === undefined) {
    return refuse('INVALID_IMAGE', 'Image is not a PNG, JPEG or WebP file (its first bytes match none of them).');
  }
  const declared = normalizeMediaType(declaredType ?? '');
  if (!UNDECLARED_TYPES.has(declared) && DECLARED_FORMATS.get(declared) !== format) {
    return refuse(
      'INVALID_IMAGE',
      `Image is declared as "${quote(declared)}" but its bytes are a ${FORMAT_NAMES[format]} image; the declared type must match (${MEDIA_TYPES[format]}).`,
    );
  }
  const size = measure(bytes, format);
  if (size === undefined) {
    return refuse('INVALID_IMAGE', `Image starts like a ${FORMAT_NAMES[format]} file, but its header is truncated or corrupt, so its dimensions cannot be read.`);
  }
  const { width, height } = size;
  if (Math.min(width, height) < limits.minSide) {
    return refuse('IMAGE_TOO_SMALL', `Image is ${width}×${height} pixels; images must be at least ${limits.minSide}×${limits.minSide}.`);
  }
  if (Math.max(width, height) > limits.maxAspect * Math.min(width, height)) {
    const ratio = (Math.max(width, height) / Math.min(width, height)).toFixed(2);
    return refuse(
      'IMAGE_ASPECT_RATIO',
      `Image is ${width}×${height} pixels, its long side ${ratio} times its short side; the aspect ratio must be between 1:${limits.maxAspect} and ${limits.maxAspect}:1.`,
    );
  }
  return { ok: true, format, mediaType: MEDIA_TYPES[format], width, height, bytes: bytes.length };
}

/** A data URI for the upstream body. */
export function toDataUri(bytes: Uint8Array, mediaType: string): string {
  // A view on the same memory: no copy of a possibly 10 MiB image before encoding it.
  return `data:${mediaType};base64,${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}`;
}

function refuse(code: ImageProblemCode, message: string): InspectedImage {
  return { ok: false, problem: { code, message } };
}

function sniffFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(bytes, 0, [0xff, 0xd8, 0xff])) return 'jpeg';
  // "RIFF", a 4-byte size, "WEBP".
  if (startsWith(bytes, 0, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes, 8, [0x57, 0x45, 0x42, 0x50])) return 'webp';
  return undefined;
}

function startsWith(bytes: Uint8Array, at: number, expected: number[]): boolean {
  return expected.every((byte, i) => bytes[at + i] === byte);
}

/** The essence of a MIME type: parameters dropped, lower case (media types are case-insensitive). */
function normalizeMediaType(type: string): string {
  return (type.split(';', 1)[0] ?? '').trim().toLowerCase();
}

function quote(text: string): string {
  return text.length <= QUOTE_MAX_CHARS ? text : `${text.slice(0, QUOTE_MAX_CHARS)}…`;
}

/** The displayed size, or undefined when the header cannot be read (or claims another format). */
function measure(bytes: Uint8Array, format: ImageFormat): { width: number; height: number } | undefined {
  if (format === 'jpeg' && !reachesJpegFrameHeader(bytes)) return undefined;
  // On a RIFF file without a VP8 chunk, image-size tries every other format, SVG among them, which
  // decodes all the bytes as text and searches them: such a file never reaches it.
  if (format === 'webp' && !WEBP_IMAGE_CHUNKS.has(String.fromCharCode(...bytes.subarray(12, 16)))) return undefined;
  let size: ReturnType<typeof imageSize>;
  try {
    size = imageSize(ownMemory(bytes));
  } catch {
    // image-size throws on what it cannot read (a truncated header, a bad chunk): a corrupt image.
    return undefined;
  }
  // Should image-size still take the bytes for another format, its measure is not of our image.
  if (size.type !== (format === 'jpeg' ? 'jpg' : format)) return undefined;
  const { width, height } = size;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) return undefined;
  // EXIF orientations 5–8 turn the picture a quarter: the caller sees (and we report) it that way.
  // The rules are the same either way round; only the numbers in a message change.
  return size.orientation !== undefined && size.orientation >= 5 ? { width: height, height: width } : { width, height };
}

/**
 * The bytes over memory of their own. image-size reads through DataViews on `bytes.buffer`, so on
 * a view into a larger buffer (Node's pooled small Buffers, a slice of a request body) a truncated
 * header would be completed by whatever bytes follow it instead of failing. Copied only then.
 */
function ownMemory(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
}

/**
 * Whether the marker segments after SOI lead, unbroken and within the cap, to a start-of-frame
 * header that lies wholly within the bytes. Where it says yes, image-size follows the same chain
 * to the same header, so its work is bounded too.
 */
function reachesJpegFrameHeader(bytes: Uint8Array): boolean {
  let offset = 2; // Just after SOI (FF D8).
  for (let segment = 0; segment < JPEG_MAX_SEGMENTS_BEFORE_FRAME; segment++) {
    if (offset + 4 > bytes.length || bytes[offset] !== 0xff) return false;
    // image-size never takes the first segment for a frame header (it reads from its length on),
    // so neither does this walk: otherwise a file with SOF straight after SOI would pass here and
    // send image-size down the rest of the bytes on its slow path.
    if (segment > 0 && JPEG_FRAME_MARKERS.has(bytes[offset + 1] ?? 0)) return offset + JPEG_FRAME_HEADER_BYTES <= bytes.length;
    // The length counts itself (2 bytes) and the segment's data, not the marker.
    const length = ((bytes[offset + 2] ?? 0) << 8) | (bytes[offset + 3] ?? 0);
    if (length < 2) return false;
    offset += 2 + length;
  }
  return false;
}
