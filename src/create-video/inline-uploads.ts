// Uploaded reference images (SubjectInput.imageFiles) become data URIs in the upstream body, after the
// same checks as a base64 image: the format from the magic bytes (agreeing with the file's declared
// type), the size, and the dimensions. A file over the size limit is refused without being read.
// Problems name the exact path, e.g. ["input", "subjects", 1, "imageFiles", 0].
import { IMAGE_SHAPE_LIMITS, inspectImage, toDataUri } from './image-inspection.js';
import type { CreateVideoInputValue, UserErrorValue } from './input.js';

export interface InlinedInput {
  /** The input with each subject's files appended to its images as data URIs, and no files left. */
  input: CreateVideoInputValue;
  problems: UserErrorValue[];
}

export async function inlineUploads(input: CreateVideoInputValue, maxDecodedBytes: number): Promise<InlinedInput> {
  const problems: UserErrorValue[] = [];
  const subjects = await Promise.all(
    input.subjects.map(async (subject, i) => {
      const files = subject.imageFiles ?? [];
      const { imageFiles: _files, ...rest } = subject;
      if (files.length === 0) return rest;
      const inlined: string[] = [];
      for (const [j, file] of files.entries()) {
        const field = ['input', 'subjects', String(i), 'imageFiles', String(j)];
        if (file.size > maxDecodedBytes) {
          problems.push({ field, code: 'IMAGE_TOO_LARGE', message: `Image is ${file.size} bytes; images must be at most ${maxDecodedBytes} bytes.` });
          continue;
        }
        const bytes = new Uint8Array(await file.arrayBuffer());
        const inspected = inspectImage(bytes, file.type, { maxBytes: maxDecodedBytes, ...IMAGE_SHAPE_LIMITS });
        if (!inspected.ok) problems.push({ field, code: inspected.problem.code, message: inspected.problem.message });
        else inlined.push(toDataUri(bytes, inspected.mediaType));
      }
      return { ...rest, images: [...(subject.images ?? []), ...inlined] };
    }),
  );
  return { input: { ...input, subjects }, problems };
}
