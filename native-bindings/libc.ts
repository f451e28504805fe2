/**
 * koffi and the C library, loaded once on first use. A dynamic import, so that a bundle (esbuild, koffi
 * kept external or shipped beside it) loads koffi only when a register read or a VFIO ioctl needs it.
 */
export type Koffi = typeof import('koffi');
export type Library = ReturnType<Koffi['load']>;

let loaded: Promise<{ koffi: Koffi; libc: Library }> | null = null;

export function loadLibc(): Promise<{ koffi: Koffi; libc: Library }> {
  loaded ??= (async () => {
    const mod = (await import('koffi')) as unknown as { default?: Koffi } & Koffi;
    const koffi = mod.default ?? mod;
    let libc: Library;
    try {
      libc = koffi.load('libc.so.6');
    } catch {
      // musl and other libcs: the process's own symbols include mmap and ioctl.
      libc = koffi.load(null as unknown as string);
    }
    return { koffi, libc };
  })();
  return loaded;
}
