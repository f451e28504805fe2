/**
 * VFIO as the `vfio` method uses it: the real one is native-bindings/vfio.ts (ioctls through koffi,
 * loaded only when a vfio step runs), the simulator has its own. Errors are AccessError with the errno.
 */
export interface VfioDependent {
  bdf: string;
  /** IOMMU group number (legacy group API). */
  group: number;
}

export interface VfioBackend {
  /** Open the function through its IOMMU group and issue VFIO_DEVICE_RESET. */
  deviceReset(bdf: string, group: number): Promise<void>;
  /** VFIO_DEVICE_GET_PCI_HOT_RESET_INFO: every function a hot reset of this one would reset. */
  hotResetInfo(bdf: string, group: number): Promise<VfioDependent[]>;
  /** VFIO_DEVICE_PCI_HOT_RESET, proving ownership of every group in `groups`. */
  hotReset(bdf: string, group: number, groups: number[]): Promise<void>;
}
