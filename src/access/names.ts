/**
 * File names and link targets as the kernel gives them: bytes. Linux names may hold any byte but `/` and
 * NUL; decoding them lossily (U+FFFD) could make a name that points at one directory read another (a
 * listing entry `\xff` read as `\xef\xbf\xbd`). So a name is used only when it is valid UTF-8, and
 * otherwise refused by name, its bytes shown escaped.
 */
const strict = new TextDecoder('utf-8', { fatal: true });

/**
 * The name as a string, or null when its bytes are not valid UTF-8. A string is a name already known to
 * be plain ASCII (native-bindings/fs-at.ts, RawName).
 */
export function decodeName(bytes: Uint8Array | string): string | null {
  if (typeof bytes === 'string') return bytes;
  // Plain ASCII (every sysfs name) needs no decoder.
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  try {
    return strict.decode(bytes);
  } catch {
    return null;
  }
}

/** Bytes shown for a message: printable ASCII as is, everything else as `\xNN`. */
export function escapeName(name: Uint8Array | string): string {
  const bytes = typeof name === 'string' ? Buffer.from(name, 'latin1') : name;
  let out = '';
  for (const b of bytes) out += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return out;
}
