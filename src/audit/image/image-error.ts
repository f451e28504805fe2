/** A kdump image that cannot be read as one: the message names the file and the offset. */
export class ImageError extends Error {
  override readonly name = 'ImageError';
}
