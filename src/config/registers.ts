/**
 * Config-space offsets and bits, named as in the kernel's include/uapi/linux/pci_regs.h so that a
 * reader can grep one against the other.
 */
export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_COMMAND = 0x04;
export const PCI_STATUS = 0x06;
export const PCI_STATUS_IMM_READY = 0x01;
export const PCI_STATUS_CAP_LIST = 0x10;
export const PCI_REVISION_ID = 0x08;
export const PCI_CLASS_PROG = 0x09;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_HEADER_TYPE_MASK = 0x7f;
export const PCI_HEADER_TYPE_MFD = 0x80;
export const PCI_HEADER_TYPE_NORMAL = 0;
export const PCI_HEADER_TYPE_BRIDGE = 1;
export const PCI_HEADER_TYPE_CARDBUS = 2;
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
export const PCI_SUBSYSTEM_ID = 0x2e;
export const PCI_CAPABILITY_LIST = 0x34;
export const PCI_CB_CAPABILITY_LIST = 0x14;
export const PCI_CB_SUBSYSTEM_VENDOR_ID = 0x40;
export const PCI_CB_SUBSYSTEM_ID = 0x42;

/** Type-1 (bridge) header. */
export const PCI_PRIMARY_BUS = 0x18;
export const PCI_SECONDARY_BUS = 0x19;
export const PCI_SUBORDINATE_BUS = 0x1a;
export const PCI_BRIDGE_CONTROL = 0x3e;
export const PCI_BRIDGE_CTL_BUS_RESET = 0x40;

export const PCI_STD_HEADER_SIZEOF = 0x40;
export const PCI_CFG_SPACE_SIZE = 0x100;
export const PCI_CFG_SPACE_EXP_SIZE = 0x1000;

/** The kernel's walk limits: PCI_FIND_CAP_TTL and (4096-256)/8 for extended capabilities. */
export const PCI_FIND_CAP_TTL = 48;
export const PCI_FIND_EXT_CAP_TTL = (PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 8;

/** Capability IDs. */
export const PCI_CAP_ID_PM = 0x01;
export const PCI_CAP_ID_MSI = 0x05;
export const PCI_CAP_ID_EXP = 0x10;
export const PCI_CAP_ID_MSIX = 0x11;
export const PCI_CAP_ID_AF = 0x13;

/** Extended capability IDs. */
export const PCI_EXT_CAP_ID_ERR = 0x01;
export const PCI_EXT_CAP_ID_ACS = 0x0d;
export const PCI_EXT_CAP_ID_SRIOV = 0x10;
export const PCI_EXT_CAP_ID_LTR = 0x18;
export const PCI_EXT_CAP_ID_DVSEC = 0x23;
/** DVSEC header 1 (+4: vendor in bits 15:0) and header 2 (+8: DVSEC ID in bits 15:0). */
export const PCI_DVSEC_HEADER1 = 0x4;
export const PCI_DVSEC_HEADER2 = 0x8;
/** CXL: vendor 0x1E98, Port DVSEC ID 3; its PORT_CTL (+0x0C) bit 0 "Unmask SBR" gates a secondary bus reset. */
export const PCI_VENDOR_ID_CXL = 0x1e98;
export const CXL_DVSEC_PORT = 3;

/** Power Management capability. */
export const PCI_PM_PMC = 2;
export const PCI_PM_CAP_VER_MASK = 0x0007;
export const PCI_PM_CTRL = 4;
export const PCI_PM_CTRL_STATE_MASK = 0x0003;
export const PCI_PM_CTRL_NO_SOFT_RESET = 0x0008;

/** PCI Express capability (offsets from the capability). */
export const PCI_EXP_FLAGS = 0x02;
export const PCI_EXP_FLAGS_VERS = 0x000f;
export const PCI_EXP_FLAGS_TYPE = 0x00f0;
export const PCI_EXP_FLAGS_SLOT = 0x0100;
export const PCI_EXP_DEVCAP = 0x04;
export const PCI_EXP_DEVCAP_FLR = 0x10000000;
export const PCI_EXP_DEVCTL = 0x08;
export const PCI_EXP_DEVCTL_BCR_FLR = 0x8000;
export const PCI_EXP_DEVSTA = 0x0a;
export const PCI_EXP_DEVSTA_TRPND = 0x0020;
export const PCI_EXP_LNKCAP = 0x0c;
export const PCI_EXP_LNKCAP_SLS = 0x0000000f;
export const PCI_EXP_LNKCAP_DLLLARC = 0x00100000;
export const PCI_EXP_LNKCTL = 0x10;
export const PCI_EXP_LNKSTA = 0x12;
export const PCI_EXP_LNKSTA_CLS = 0x000f;
export const PCI_EXP_LNKSTA_DLLLA = 0x2000;
export const PCI_EXP_SLTCAP = 0x14;
export const PCI_EXP_SLTCAP_HPC = 0x00000040;
export const PCI_EXP_SLTCTL = 0x18;
export const PCI_EXP_RTCTL = 0x1c;
export const PCI_EXP_RTCTL_RRS_SVE = 0x0010;
export const PCI_EXP_RTCAP = 0x1e;
export const PCI_EXP_RTCAP_RRS_SV = 0x0001;
export const PCI_EXP_DEVCAP2 = 0x24;
export const PCI_EXP_DEVCTL2 = 0x28;
export const PCI_EXP_LNKCAP2 = 0x2c;
export const PCI_EXP_LNKCTL2 = 0x30;
export const PCI_EXP_SLTCTL2 = 0x38;

/** Device/port types (PCI_EXP_FLAGS_TYPE >> 4). */
export const PCI_EXP_TYPE_ENDPOINT = 0x0;
export const PCI_EXP_TYPE_LEG_END = 0x1;
export const PCI_EXP_TYPE_ROOT_PORT = 0x4;
export const PCI_EXP_TYPE_UPSTREAM = 0x5;
export const PCI_EXP_TYPE_DOWNSTREAM = 0x6;
export const PCI_EXP_TYPE_PCI_BRIDGE = 0x7;
export const PCI_EXP_TYPE_PCIE_BRIDGE = 0x8;
export const PCI_EXP_TYPE_RC_END = 0x9;
export const PCI_EXP_TYPE_RC_EC = 0xa;

/** Advanced Features capability. */
export const PCI_AF_CAP = 3;
export const PCI_AF_CAP_TP = 0x01;
export const PCI_AF_CAP_FLR = 0x02;
export const PCI_AF_CTRL = 4;
export const PCI_AF_CTRL_FLR = 0x01;
export const PCI_AF_STATUS = 5;
export const PCI_AF_STATUS_TP = 0x01;

/** Class codes (base class << 16 | subclass << 8). */
export const PCI_CLASS_BRIDGE_HOST = 0x0600;
export const PCI_CLASS_BRIDGE_PCI = 0x0604;
export const PCI_CLASS_SYSTEM_IOMMU = 0x0806;

/*
 * Registers the executor saves and restores around a reset, and the simulator models (issue #5).
 * Same names as pci_regs.h.
 */
export const PCI_COMMAND_IO = 0x0001;
export const PCI_COMMAND_MEMORY = 0x0002;
export const PCI_COMMAND_MASTER = 0x0004;
export const PCI_COMMAND_INTX_DISABLE = 0x0400;
export const PCI_CACHE_LINE_SIZE = 0x0c;
export const PCI_BASE_ADDRESS_0 = 0x10;
export const PCI_BASE_ADDRESS_SPACE_IO = 0x01;
export const PCI_BASE_ADDRESS_MEM_TYPE_64 = 0x04;
export const PCI_ROM_ADDRESS = 0x30;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_IO_BASE = 0x1c;
export const PCI_SEC_STATUS = 0x1e;
export const PCI_MEMORY_BASE = 0x20;
export const PCI_PREF_MEMORY_BASE = 0x24;
export const PCI_PREF_BASE_UPPER32 = 0x28;
export const PCI_IO_BASE_UPPER16 = 0x30;
export const PCI_ROM_ADDRESS1 = 0x38;

export const PCI_PM_CTRL_PME_ENABLE = 0x0100;
export const PCI_PM_CTRL_PME_STATUS = 0x8000;
export const PCI_D0 = 0;
export const PCI_D3HOT = 3;

export const PCI_MSI_FLAGS = 2;
export const PCI_MSI_FLAGS_ENABLE = 0x0001;
export const PCI_MSI_FLAGS_QSIZE = 0x0070;
export const PCI_MSI_FLAGS_64BIT = 0x0080;
export const PCI_MSI_FLAGS_MASKBIT = 0x0100;
export const PCI_MSI_ADDRESS_LO = 4;
export const PCI_MSI_ADDRESS_HI = 8;
export const PCI_MSI_DATA_32 = 8;
export const PCI_MSI_DATA_64 = 12;
export const PCI_MSI_MASK_32 = 12;
export const PCI_MSI_MASK_64 = 16;
export const PCI_MSIX_FLAGS = 2;
export const PCI_MSIX_FLAGS_ENABLE = 0x8000;
export const PCI_MSIX_FLAGS_MASKALL = 0x4000;

export const PCI_EXP_SLTSTA = 0x1a;
export const PCI_EXP_LNKCTL_RL = 0x0020;
export const PCI_EXP_LNKCAP2_SLS = 0x000000fe;
export const PCI_EXP_FLAGS_VERS2 = 2;

export const PCI_ERR_UNCOR_STATUS = 0x04;
export const PCI_ERR_UNCOR_MASK = 0x08;
export const PCI_ERR_UNCOR_SEVER = 0x0c;
export const PCI_ERR_COR_STATUS = 0x10;
export const PCI_ERR_COR_MASK = 0x14;
export const PCI_ERR_CAP = 0x18;
export const PCI_ERR_ROOT_COMMAND = 0x2c;
export const PCI_ERR_ROOT_STATUS = 0x30;
export const PCI_ACS_CAP = 0x04;
export const PCI_ACS_CTRL = 0x06;
export const PCI_LTR_MAX_SNOOP_LAT = 0x04;
export const PCI_LTR_MAX_NOSNOOP_LAT = 0x06;
export const PCI_SRIOV_CTRL = 0x08;
export const PCI_SRIOV_CTRL_VFE = 0x0001;
export const PCI_SRIOV_CTRL_MSE = 0x0008;
/** ARI Capable Hierarchy: First VF Offset and VF Stride depend on it. */
export const PCI_SRIOV_CTRL_ARI = 0x0010;
export const PCI_SRIOV_NUM_VF = 0x10;
export const PCI_SRIOV_VF_OFFSET = 0x14;
export const PCI_SRIOV_VF_STRIDE = 0x16;
export const PCI_SRIOV_SYS_PGSIZE = 0x20;
export const PCI_SRIOV_BAR = 0x24;
export const PCI_SRIOV_NUM_BARS = 6;

/** Vendor ID a Root Port with Configuration RRS Software Visibility returns while a function is not ready. */
export const PCI_VENDOR_ID_RRS = 0x0001;

/*
 * Extended state pci_save_state()/pci_restore_state() keep beyond the header, PCIe, AER, MSI, ACS and
 * SR-IOV (issue 12 item 3). Same names as include/uapi/linux/pci_regs.h (Linux 6.18.19).
 */
export const PCI_CAP_ID_PCIX = 0x07;
export const PCI_X_CMD = 2;
export const PCI_EXT_CAP_ID_VC = 0x02;
export const PCI_EXT_CAP_ID_VC9 = 0x09;
export const PCI_EXT_CAP_ID_ATS = 0x0f;
export const PCI_EXT_CAP_ID_PRI = 0x13;
export const PCI_EXT_CAP_ID_REBAR = 0x15;
export const PCI_EXT_CAP_ID_TPH = 0x17;
export const PCI_EXT_CAP_ID_PASID = 0x1b;
export const PCI_EXT_CAP_ID_DPC = 0x1d;
export const PCI_EXT_CAP_ID_L1SS = 0x1e;
export const PCI_EXT_CAP_ID_PTM = 0x1f;
export const PCI_EXT_CAP_ID_VF_REBAR = 0x24;
export const PCI_REBAR_CTRL = 8;
export const PCI_REBAR_CTRL_NBAR_MASK = 0x000000e0;
export const PCI_REBAR_CTRL_NBAR_SHIFT = 5;
export const PCI_REBAR_CTRL_BAR_SIZE = 0x00001f00;
export const PCI_ATS_CTRL = 0x06;
export const PCI_ATS_CTRL_ENABLE = 0x8000;
export const PCI_PRI_CTRL = 0x04;
export const PCI_PRI_ALLOC_REQ = 0x0c;
export const PCI_PASID_CTRL = 0x06;
export const PCI_EXP_DPC_CTL = 0x06;
export const PCI_L1SS_CTL1 = 0x08;
export const PCI_L1SS_CTL2 = 0x0c;
export const PCI_PTM_CTRL = 0x08;
export const PCI_TPH_CTRL = 0x08;
export const PCI_VC_PORT_CAP1 = 0x04;
export const PCI_VC_CAP1_EVCC = 0x00000007;
export const PCI_VC_PORT_CTRL = 0x0c;
export const PCI_VC_RES_CTRL = 0x14;
/** Each VC resource (capability, control, status) takes 12 bytes from PCI_VC_RES_CAP (0x10). */
export const PCI_VC_RES_STRIDE = 0x0c;
export const PCI_EXP_DEVCTL2_LTR_EN = 0x0400;

/** Bits of each extended register a restore must read back with (and the simulator lets software change). */
export const EXT_RW = {
  rebarCtrl: PCI_REBAR_CTRL_BAR_SIZE,
  atsCtrl: 0x801f,
  pasidCtrl: 0x0007,
  priCtrl: 0x0001,
  priAlloc: 0xffffffff,
  dpcCtl: 0x01bf,
  l1ssCtl1: 0xe3ffff0f,
  l1ssCtl2: 0x000000fb,
  ptmCtrl: 0x0000ff03,
  tphCtrl: 0x00000307,
  vcPortCtrl: 0x000e,
  vcResCtrl: 0x870e00ff,
  pcixCmd: 0x007f,
} as const;
