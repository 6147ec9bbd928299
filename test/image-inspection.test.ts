// The image checks on real bytes (built by test/support/images.ts: PNGs complete and valid, JPEGs
// and WebPs as the headers a decoder reads first, which is as far as image-size reads).
import { describe, expect, it } from 'vitest';
import { IMAGE_SHAPE_LIMITS, inspectImage, toDataUri, type ImageLimits } from '../src/create-video/image-inspection.js';
import { validateCreateInput } from '../src/create-video/validate-input.js';
import {
  exact,
  exifOrientation,
  JFIF_APP0,
  jpeg,
  jpegFrame,
  jpegSegment,
  pngBytes,
  riffWebp,
  u16be,
  u32be,
  webpExtended,
  webpLossless,
  webpLossy,
} from './support/images.js';

const limits: ImageLimits = { maxBytes: 1024 * 1024, ...IMAGE_SHAPE_LIMITS };

function codeOf(bytes: Uint8Array, declaredType?: string, given: ImageLimits = limits) {
  const result = inspectImage(bytes, declaredType, given);
  return result.ok ? 'ok' : result.problem.code;
}

describe('inspectImage: formats', () => {
  it('reads a PNG, a JPEG and the three kinds of WebP, with their sizes', () => {
    const cases = [
      { bytes: pngBytes(200, 300), format: 'png', mediaType: 'image/png', width: 200, height: 300 },
      { bytes: jpeg(JFIF_APP0, jpegFrame(640, 480)), format: 'jpeg', mediaType: 'image/jpeg', width: 640, height: 480 },
      { bytes: jpeg(JFIF_APP0, jpegFrame(300, 400, 0xc2)), format: 'jpeg', mediaType: 'image/jpeg', width: 300, height: 400 },
      { bytes: webpExtended(300, 200), format: 'webp', mediaType: 'image/webp', width: 300, height: 200 },
      { bytes: webpLossy(256, 257), format: 'webp', mediaType: 'image/webp', width: 256, height: 257 },
      { bytes: webpLossless(512, 129), format: 'webp', mediaType: 'image/webp', width: 512, height: 129 },
    ] as const;
    for (const { bytes, ...expected } of cases) {
      expect(inspectImage(bytes, expected.mediaType, limits)).toEqual({ ok: true, ...expected, bytes: bytes.length });
      expect(inspectImage(bytes, undefined, limits)).toEqual({ ok: true, ...expected, bytes: bytes.length });
    }
  });

  it('reads a PNG padded with an ancillary chunk by its IHDR, at its padded length', () => {
    // The big-but-valid images of other suites (create-validation, uploads, the body bench) are built so.
    const padded = pngBytes(512, 512, 200_000);
    expect(padded.length).toBe(200_000);
    expect(inspectImage(padded, 'image/png', limits)).toEqual({ ok: true, format: 'png', mediaType: 'image/png', width: 512, height: 512, bytes: 200_000 });
    expect(() => pngBytes(512, 512, 10)).toThrow(RangeError);
  });

  it('refuses bytes that are not PNG, JPEG or WebP, whatever they are declared as', () => {
    const gif = Buffer.concat([Buffer.from('GIF89a', 'latin1'), Buffer.from([200, 0, 200, 0, 0, 0, 0])]);
    const bmp = Buffer.concat([Buffer.from('BM', 'latin1'), Buffer.alloc(60)]);
    for (const bytes of [gif, bmp, Buffer.from('hello, I am an image'), Buffer.alloc(0), Buffer.from([0x89, 0x50, 0x4e])]) {
      const result = inspectImage(exact(bytes), 'image/png', limits);
      expect(result).toEqual({
        ok: false,
        problem: { code: 'INVALID_IMAGE', message: 'Image is not a PNG, JPEG or WebP file (its first bytes match none of them).' },
      });
    }
  });

  it('refuses a declared type that disagrees with the bytes', () => {
    expect(inspectImage(pngBytes(200, 200), 'image/jpeg', limits)).toEqual({
      ok: false,
      problem: { code: 'INVALID_IMAGE', message: 'Image is declared as "image/jpeg" but its bytes are a PNG image; the declared type must match (image/png).' },
    });
    expect(codeOf(webpExtended(200, 200), 'image/png')).toBe('INVALID_IMAGE');
    expect(codeOf(jpeg(JFIF_APP0, jpegFrame(200, 200)), 'image/webp')).toBe('INVALID_IMAGE');
    expect(codeOf(pngBytes(200, 200), 'image/gif')).toBe('INVALID_IMAGE');
    expect(codeOf(pngBytes(200, 200), 'text/plain')).toBe('INVALID_IMAGE');
  });

  it('accepts a matching type in any case and with parameters, image/jpg for JPEG, and no claim at all', () => {
    expect(codeOf(pngBytes(200, 200), 'IMAGE/PNG')).toBe('ok');
    expect(codeOf(pngBytes(200, 200), 'image/png; name=x.png')).toBe('ok');
    expect(codeOf(jpeg(JFIF_APP0, jpegFrame(200, 200)), 'image/jpg')).toBe('ok');
    expect(codeOf(pngBytes(200, 200), 'image/jpg')).toBe('INVALID_IMAGE');
    for (const none of [undefined, '', 'application/octet-stream']) {
      expect(codeOf(webpExtended(200, 200), none)).toBe('ok');
    }
  });

  it('repeats only the start of a long declared type, and never the bytes', () => {
    const declared = `image/${'x'.repeat(10_000)}`;
    const bytes = pngBytes(200, 200);
    const result = inspectImage(bytes, declared, limits);
    expect(result.ok).toBe(false);
    const message = result.ok ? '' : result.problem.message;
    expect(message.length).toBeLessThan(250);
    expect(message).toContain(`"${declared.slice(0, 64)}…"`);
    expect(message).not.toContain(Buffer.from(bytes).toString('base64').slice(0, 16));
  });
});

describe('inspectImage: size in bytes', () => {
  it('refuses more than maxBytes before looking at the bytes at all', () => {
    const junk = exact(Buffer.alloc(1025, 0x41));
    expect(inspectImage(junk, 'image/png', { ...limits, maxBytes: 1024 })).toEqual({
      ok: false,
      problem: { code: 'IMAGE_TOO_LARGE', message: 'Image is 1025 bytes; images must be at most 1024 bytes.' },
    });
    // The same junk within the limit is looked at, and is no image.
    expect(codeOf(junk, 'image/png', { ...limits, maxBytes: 1025 })).toBe('INVALID_IMAGE');
  });

  it('accepts exactly maxBytes', () => {
    const bytes = pngBytes(200, 200);
    expect(codeOf(bytes, 'image/png', { ...limits, maxBytes: bytes.length })).toBe('ok');
    expect(codeOf(bytes, 'image/png', { ...limits, maxBytes: bytes.length - 1 })).toBe('IMAGE_TOO_LARGE');
  });
});

describe('inspectImage: dimensions', () => {
  it('needs at least 128 pixels on each side', () => {
    expect(inspectImage(pngBytes(127, 500), 'image/png', limits)).toEqual({
      ok: false,
      problem: { code: 'IMAGE_TOO_SMALL', message: 'Image is 127×500 pixels; images must be at least 128×128.' },
    });
    expect(codeOf(pngBytes(500, 127))).toBe('IMAGE_TOO_SMALL');
    expect(codeOf(jpeg(JFIF_APP0, jpegFrame(128, 127)))).toBe('IMAGE_TOO_SMALL');
    expect(codeOf(webpExtended(1, 1))).toBe('IMAGE_TOO_SMALL');
    expect(codeOf(pngBytes(128, 128))).toBe('ok');
  });

  it('needs an aspect ratio between 1:4 and 4:1, both included', () => {
    expect(inspectImage(pngBytes(128, 600), 'image/png', limits)).toEqual({
      ok: false,
      problem: { code: 'IMAGE_ASPECT_RATIO', message: 'Image is 128×600 pixels, its long side 4.69 times its short side; the aspect ratio must be between 1:4 and 4:1.' },
    });
    expect(codeOf(pngBytes(600, 128))).toBe('IMAGE_ASPECT_RATIO');
    expect(codeOf(pngBytes(128, 513))).toBe('IMAGE_ASPECT_RATIO');
    expect(codeOf(webpLossless(16_384, 4095))).toBe('IMAGE_ASPECT_RATIO');
    expect(codeOf(pngBytes(128, 512))).toBe('ok');
    expect(codeOf(pngBytes(512, 128))).toBe('ok');
    expect(codeOf(webpExtended(16_384, 4096))).toBe('ok');
  });

  it('uses the limits it is given', () => {
    expect(codeOf(pngBytes(200, 200), undefined, { ...limits, minSide: 201 })).toBe('IMAGE_TOO_SMALL');
    expect(codeOf(pngBytes(200, 300), undefined, { ...limits, maxAspect: 1.4 })).toBe('IMAGE_ASPECT_RATIO');
    expect(codeOf(pngBytes(200, 300), undefined, { ...limits, maxAspect: 1.5 })).toBe('ok');
  });

  it('reports a JPEG turned a quarter by EXIF as it is shown', () => {
    const rotated = jpeg(exifOrientation(6), jpegFrame(640, 480));
    expect(inspectImage(rotated, 'image/jpeg', limits)).toMatchObject({ ok: true, width: 480, height: 640 });
    expect(inspectImage(jpeg(exifOrientation(3), jpegFrame(640, 480)), 'image/jpeg', limits)).toMatchObject({ ok: true, width: 640, height: 480 });
    expect(inspectImage(jpeg(exifOrientation(8), jpegFrame(127, 300)), 'image/jpeg', limits)).toEqual({
      ok: false,
      problem: { code: 'IMAGE_TOO_SMALL', message: 'Image is 300×127 pixels; images must be at least 128×128.' },
    });
  });
});

describe('inspectImage: corrupt headers', () => {
  const corruptMessage = (format: string) =>
    `Image starts like a ${format} file, but its header is truncated or corrupt, so its dimensions cannot be read.`;

  it('refuses a truncated or corrupt PNG', () => {
    const good = pngBytes(200, 300);
    for (const length of [8, 16, 20, 23]) {
      expect(inspectImage(good.slice(0, length), 'image/png', limits)).toEqual({ ok: false, problem: { code: 'INVALID_IMAGE', message: corruptMessage('PNG') } });
    }
    const noIhdr = good.slice();
    noIhdr.set(Buffer.from('IDAT', 'latin1'), 12);
    expect(codeOf(noIhdr)).toBe('INVALID_IMAGE');
    const zeroWide = good.slice();
    zeroWide.set(u32be(0), 16);
    expect(codeOf(zeroWide)).toBe('INVALID_IMAGE');
  });

  it('does not read past the end of a view into a larger buffer', () => {
    // The 20 bytes stop inside IHDR, but the memory after them holds the rest of a good header.
    const good = pngBytes(200, 300);
    expect(codeOf(new Uint8Array(good.buffer, 0, 20))).toBe('INVALID_IMAGE');
    const inside = new Uint8Array(good.length + 100);
    inside.set(good, 50);
    expect(inspectImage(inside.subarray(50, 50 + good.length), 'image/png', limits)).toMatchObject({ ok: true, width: 200, height: 300 });
    expect(codeOf(inside.subarray(50, 50 + 22))).toBe('INVALID_IMAGE');
  });

  it('refuses a JPEG without a readable frame header', () => {
    expect(inspectImage(jpeg(JFIF_APP0), 'image/jpeg', limits)).toEqual({ ok: false, problem: { code: 'INVALID_IMAGE', message: corruptMessage('JPEG') } });
    const good = jpeg(JFIF_APP0, jpegFrame(200, 300));
    const frameAt = 2 + JFIF_APP0.length;
    expect(codeOf(good.slice(0, frameAt + 8))).toBe('INVALID_IMAGE');
    expect(codeOf(good.slice(0, frameAt + 9))).toBe('ok');
    expect(codeOf(good.slice(0, 3))).toBe('INVALID_IMAGE');
    // A segment length that runs past the end, and one below its own 2 bytes.
    const runsPast = good.slice();
    runsPast.set(u16be(0xfff0), 4);
    expect(codeOf(runsPast)).toBe('INVALID_IMAGE');
    const tooShort = good.slice();
    tooShort.set(u16be(1), 4);
    expect(codeOf(tooShort)).toBe('INVALID_IMAGE');
    // Arithmetic-coded and lossless frames (SOF9, SOF3) are not read.
    expect(codeOf(jpeg(JFIF_APP0, jpegFrame(200, 300, 0xc9)))).toBe('INVALID_IMAGE');
  });

  it('refuses a JPEG whose segment chain is broken or too long before the frame', () => {
    // After APP0 the next byte should start a marker; here junk follows, then a frame header.
    expect(codeOf(jpeg(JFIF_APP0, Buffer.alloc(100), jpegFrame(200, 300)))).toBe('INVALID_IMAGE');
    const comment = jpegSegment(0xfe, Buffer.from('x'));
    expect(codeOf(jpeg(JFIF_APP0, ...Array<Buffer>(1000).fill(comment), jpegFrame(200, 300)))).toBe('ok');
    expect(codeOf(jpeg(JFIF_APP0, ...Array<Buffer>(1100).fill(comment), jpegFrame(200, 300)))).toBe('INVALID_IMAGE');
    // Large segments are walked past, not read: three 64 KiB APP2 segments before the frame.
    const big = jpegSegment(0xe2, Buffer.alloc(65_533, 0xff));
    expect(inspectImage(jpeg(JFIF_APP0, big, big, big, jpegFrame(200, 300)), 'image/jpeg', limits)).toMatchObject({ ok: true, width: 200, height: 300 });
    // image-size does not look for a frame header straight after SOI, so neither does the walk: a
    // frame there does not excuse the broken chain after it (zeros, then "00 02", which image-size's
    // byte-by-byte search would take for a length leading to the second frame).
    const junkThenLength = Buffer.concat([Buffer.alloc(70_000), Buffer.from([0, 2])]);
    expect(codeOf(jpeg(jpegFrame(200, 300), junkThenLength, jpegFrame(300, 200)))).toBe('INVALID_IMAGE');
    expect(codeOf(jpeg(jpegFrame(200, 300)))).toBe('INVALID_IMAGE');
  });

  it('refuses a 1 MiB JPEG of junk after its first segment', () => {
    const junk = Buffer.alloc(1024 * 1024);
    junk.set([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]);
    expect(codeOf(exact(junk))).toBe('INVALID_IMAGE');
  });

  it('refuses a truncated or corrupt WebP', () => {
    const good = webpExtended(200, 300);
    for (const length of [12, 16, 20, 26]) {
      expect(inspectImage(good.slice(0, length), 'image/webp', limits)).toEqual({ ok: false, problem: { code: 'INVALID_IMAGE', message: corruptMessage('WebP') } });
    }
    expect(codeOf(riffWebp('ABCD', Buffer.alloc(10)))).toBe('INVALID_IMAGE');
    // Without a VP8 chunk, image-size would measure the SVG tag inside as an SVG of 200×300.
    expect(codeOf(riffWebp('ABCD', Buffer.from('<svg width="200" height="300"></svg>')))).toBe('INVALID_IMAGE');
    // VP8X reserved bits set.
    expect(codeOf(webpExtended(200, 300, 0xc0))).toBe('INVALID_IMAGE');
    // A lossy frame without its start code.
    const lossy = webpLossy(200, 300);
    lossy[20] = 0x2f;
    expect(codeOf(lossy)).toBe('INVALID_IMAGE');
    expect(codeOf(webpLossy(0, 300))).toBe('INVALID_IMAGE');
  });
});

describe('toDataUri', () => {
  it('round-trips the bytes, and what it makes passes the data URI checks', () => {
    const bytes = pngBytes(200, 300);
    const uri = toDataUri(bytes, 'image/png');
    const prefix = 'data:image/png;base64,';
    expect(uri.startsWith(prefix)).toBe(true);
    const decoded = new Uint8Array(Buffer.from(uri.slice(prefix.length), 'base64'));
    expect(decoded).toEqual(bytes);
    expect(inspectImage(decoded, 'image/png', limits)).toMatchObject({ ok: true, width: 200, height: 300 });
    const input = { prompt: '@1 waves', subjects: [{ id: '1', images: [uri] }] };
    expect(validateCreateInput(input, { imageMaxDecodedBytes: bytes.length })).toEqual([]);
  });

  it('encodes only the bytes of a view, not the rest of its buffer', () => {
    const whole = exact(Buffer.from('..abc..'));
    expect(toDataUri(whole.subarray(2, 5), 'image/webp')).toBe(`data:image/webp;base64,${Buffer.from('abc').toString('base64')}`);
  });
});
